/** How long a repaired change's entry drops late copies, and how long an entry waits for a follower that fell behind. */
export const LEDGER_KEEP_MS = 60_000;

/**
 * Which stored changes (conversation, pos) this instance has taken for its sockets:
 * from the event bus, or repaired from the change log by the LogFollower. Each change
 * is taken once: a second copy (the bus's after a repair, or the other way round) is
 * refused. The follower takes each change as it passes it in the log: a change it can
 * still take was never pushed. Entries go after LEDGER_KEEP_MS.
 */
export class ChangeLedger {
  private readonly taken = new Map<string, number>();

  /** True the first time; false for a change taken already. */
  take(conversationId: string, pos: number, now = Date.now()): boolean {
    const key = `${conversationId}:${pos}`;
    if (this.taken.has(key)) return false;
    this.taken.set(key, now);
    return true;
  }

  /** A taken change that was not pushed after all (dropped by the seq orderer): the follower repairs it. */
  release(conversationId: string, pos: number): void {
    this.taken.delete(`${conversationId}:${pos}`);
  }

  /**
   * The log follower reached this change. True when it was never taken (its event was
   * lost): it is taken now, so a late copy from the bus is refused. False when the bus
   * took it: no second copy comes, so it is forgotten at once and the ledger holds about
   * one follower step of changes, not LEDGER_KEEP_MS of them.
   */
  settle(conversationId: string, pos: number, now = Date.now()): boolean {
    if (this.take(conversationId, pos, now)) return true;
    this.taken.delete(`${conversationId}:${pos}`);
    return false;
  }

  sweep(now = Date.now()): void {
    for (const [key, at] of this.taken) if (now - at > LEDGER_KEEP_MS) this.taken.delete(key);
  }

  get size(): number {
    return this.taken.size;
  }
}
