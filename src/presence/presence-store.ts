/**
 * Where sockets are counted for presence and MAX_CONNECTIONS_PER_USER: this
 * instance's memory, or Redis for the whole cluster (RedisPresenceStore). The
 * PresenceService holds the rules (grace, announcements, last seen) and asks the
 * store; it falls back to memory while Redis is away.
 */
export interface PresenceStore {
  /** Takes a socket slot: undefined when the user has `max` sockets already; `first`: the user just came online. */
  acquire(userId: string, max: number): Promise<{ first: boolean } | undefined>;
  /**
   * Gives a slot back. When it was the user's last, the grace starts: the answer is
   * the check to run when it is over (true: nobody came back, the user is offline).
   */
  release(userId: string, graceMs: number): Promise<(() => Promise<boolean>) | undefined>;
  /** Per user: a socket somewhere, or a grace running. */
  online(userIds: readonly string[]): Promise<boolean[]>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** One instance's sockets, in memory: the store without Redis, and the fallback while Redis is away. */
export class MemoryPresenceStore implements PresenceStore {
  private readonly sockets = new Map<string, number>();
  /** Users whose last socket closed and whose grace is not over. */
  private readonly inGrace = new Set<string>();

  acquire(userId: string, max: number): Promise<{ first: boolean } | undefined> {
    const count = this.sockets.get(userId) ?? 0;
    if (count >= max) return Promise.resolve(undefined);
    this.sockets.set(userId, count + 1);
    // Back within the grace: nobody was told about the absence.
    const first = count === 0 && !this.inGrace.delete(userId);
    return Promise.resolve({ first });
  }

  release(userId: string): Promise<(() => Promise<boolean>) | undefined> {
    const count = (this.sockets.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return Promise.resolve(undefined);
    }
    this.sockets.delete(userId);
    this.inGrace.add(userId);
    return Promise.resolve(async () => {
      const gone = !this.sockets.has(userId) && this.inGrace.has(userId);
      if (gone) this.inGrace.delete(userId);
      return gone;
    });
  }

  online(userIds: readonly string[]): Promise<boolean[]> {
    return Promise.resolve(userIds.map((id) => this.sockets.has(id) || this.inGrace.has(id)));
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.inGrace.clear();
    return Promise.resolve();
  }
}
