interface ConversationOrder {
  /** The seq delivered next; below it, nothing more is delivered. */
  next: number;
  /** False until the first delivery: while the start is being found, `next` may still go down. */
  started: boolean;
  pending: Map<number, () => void>;
  /** Other events of the conversation that came while a seq was held: they go after it. */
  trailing: (() => void)[];
  timer?: NodeJS.Timeout;
  touchedAt: number;
}

/** What a message.created knows of the message before it. */
export interface Predecessor {
  /** Milliseconds from the previous message's creation to this one's; null when unknown (it committed concurrently). */
  sinceMs: number | null;
}

export interface OrderObserver {
  expiredWait?(): void;
  droppedLate?(): void;
}

/**
 * Delivers `message.created` of one conversation in seq order. Sends commit in seq
 * order, but their events may reach fan-out the other way round (two pool
 * connections, two instances, Redis in between), from a conversation's very first
 * message on.
 *
 * Where to start is decided from the source of truth, not from whichever event
 * comes first: each event says when the message before it was created (the send
 * statement reads it). A predecessor created less than `waitMs` before, or unknown
 * because it committed concurrently, may still be on its way, so it is waited for;
 * an older one was delivered long ago (or its wait would be over anyway). So the
 * first message of a new conversation waits for nothing, racing first messages are
 * put in order, and after an idle sweep or a restart nothing waits for a message
 * that was delivered before.
 *
 * A missing seq is waited for at most `waitMs`; then what is held goes out in order,
 * and the missing one is dropped if it comes later (never delivered out of order).
 * A client that sees seq N+2 after N knows it missed N+1 and fetches `after=N`.
 */
export class SeqOrderer {
  private readonly conversations = new Map<string, ConversationOrder>();

  constructor(
    private readonly waitMs: number,
    /** Told of each wait that ended without the missing seq, and of each seq dropped for coming after it. */
    private readonly observer: OrderObserver = {},
    private readonly idleMs = 600_000,
  ) {}

  /** False when the seq came too late to be delivered in order (it is dropped, `deliver` is never called). */
  push(conversationId: string, seq: number, predecessor: Predecessor, deliver: () => void, now = Date.now()): boolean {
    const mayWait = seq > 1 && (predecessor.sinceMs === null || predecessor.sinceMs < this.waitMs);
    let order = this.conversations.get(conversationId);
    if (!order) {
      order = { next: mayWait ? seq - 1 : seq, started: false, pending: new Map(), trailing: [], touchedAt: now };
      this.conversations.set(conversationId, order);
    } else if (order.started && seq < order.next) {
      this.observer.droppedLate?.(); // its wait is over: the later ones went
      return false;
    } else if (!order.started && seq <= order.next) {
      order.next = mayWait ? seq - 1 : seq; // an earlier message of the start being found
    }
    order.touchedAt = now;
    order.pending.set(seq, deliver);
    // Its predecessor is long settled: whatever is missing below it is not coming.
    if (!mayWait && seq > order.next) this.skipTo(order, seq);
    this.drain(order);
    if (order.pending.size && !order.timer) {
      order.timer = setTimeout(() => this.flush(conversationId), this.waitMs);
    }
    return true;
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
      order.started = true;
      deliver();
      deliver = order.pending.get(order.next);
    }
    if (!order.pending.size) {
      clearTimeout(order.timer);
      order.timer = undefined;
      for (const later of order.trailing.splice(0)) later();
    }
  }

  private skipTo(order: ConversationOrder, seq: number): void {
    for (const held of [...order.pending.keys()].filter((s) => s < seq).sort((a, b) => a - b)) {
      order.pending.get(held)!();
      order.pending.delete(held);
    }
    order.next = seq;
  }

  private flush(conversationId: string): void {
    const order = this.conversations.get(conversationId);
    if (!order) return;
    order.timer = undefined;
    this.observer.expiredWait?.();
    const seqs = [...order.pending.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      order.pending.get(seq)!();
      order.pending.delete(seq);
      order.next = Math.max(order.next, seq + 1);
    }
    order.started = true;
    for (const later of order.trailing.splice(0)) later();
  }
}
