interface ConversationOrder {
  next: number;
  pending: Map<number, () => void>;
  /** Other events of the conversation that came while a seq was held: they go after it. */
  trailing: (() => void)[];
  timer?: NodeJS.Timeout;
  touchedAt: number;
}

/**
 * Delivers `message.created` of one conversation in seq order. Two sends commit
 * in seq order but their events may reach fan-out the other way round (two pool
 * connections, or two instances); a later seq waits up to `waitMs` for the
 * missing one, then goes anyway (clients see the gap and fetch `after=<seq>`).
 */
export class SeqOrderer {
  private readonly conversations = new Map<string, ConversationOrder>();

  constructor(
    private readonly waitMs: number,
    private readonly idleMs = 600_000,
  ) {}

  push(conversationId: string, seq: number, deliver: () => void, now = Date.now()): void {
    const order = this.conversations.get(conversationId);
    if (!order) {
      // First event seen for it: it sets the baseline.
      this.conversations.set(conversationId, { next: seq + 1, pending: new Map(), trailing: [], touchedAt: now });
      deliver();
      return;
    }
    order.touchedAt = now;
    if (seq < order.next) {
      deliver(); // late (its wait expired) or from before the baseline
      return;
    }
    order.pending.set(seq, deliver);
    this.drain(order);
    if (order.pending.size && !order.timer) {
      order.timer = setTimeout(() => this.flush(conversationId), this.waitMs);
    }
  }

  /**
   * An event of the conversation without a seq of its own (an edit, a delete, a
   * reaction, a receipt): it must not overtake a message.created being held.
   */
  after(conversationId: string, deliver: () => void): void {
    const order = this.conversations.get(conversationId);
    if (order?.pending.size) order.trailing.push(deliver);
    else deliver();
  }

  /** Forgets conversations idle for `idleMs`, so memory follows active ones. */
  sweep(now = Date.now()): void {
    for (const [id, order] of this.conversations) {
      if (!order.pending.size && now - order.touchedAt > this.idleMs) this.conversations.delete(id);
    }
  }

  get pendingCount(): number {
    let count = 0;
    for (const order of this.conversations.values()) count += order.pending.size + order.trailing.length;
    return count;
  }

  clear(): void {
    for (const order of this.conversations.values()) clearTimeout(order.timer);
    this.conversations.clear();
  }

  private drain(order: ConversationOrder): void {
    let deliver = order.pending.get(order.next);
    while (deliver) {
      order.pending.delete(order.next);
      order.next += 1;
      deliver();
      deliver = order.pending.get(order.next);
    }
    if (!order.pending.size) {
      clearTimeout(order.timer);
      order.timer = undefined;
      for (const later of order.trailing.splice(0)) later();
    }
  }

  private flush(conversationId: string): void {
    const order = this.conversations.get(conversationId);
    if (!order) return;
    order.timer = undefined;
    const seqs = [...order.pending.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      order.pending.get(seq)!();
      order.pending.delete(seq);
      order.next = Math.max(order.next, seq + 1);
    }
    for (const later of order.trailing.splice(0)) later();
  }
}
