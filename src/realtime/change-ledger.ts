/** How long an entry is kept for the log follower to settle, and how long a repaired change's tombstone drops late copies. */
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

  sweep(now = Date.now()): void {
    for (const [key, at] of this.taken) if (now - at > LEDGER_KEEP_MS) this.taken.delete(key);
  }

  get size(): number {
    return this.taken.size;
  }
}
