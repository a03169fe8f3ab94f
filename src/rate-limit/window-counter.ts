/** How many hits a key has had in its current window, and when that window ends. */
export interface WindowCount {
  hits: number;
  resetInMs: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Fixed windows in this process's memory: a key's window starts at its first hit
 * and lasts `windowMs`; a hit past the end starts the next one. The same counting
 * as the Redis counter (redis-window-counter.ts), so that falling back to memory
 * changes where limits are counted, not how. Ended windows are swept.
 */
export class MemoryWindowCounter {
  private readonly windows = new Map<string, { hits: number; endsAt: number }>();
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();

  constructor(private readonly now: () => number = Date.now) {}

  hit(key: string, windowMs: number, now = this.now()): WindowCount {
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { hits: 0, endsAt: now + windowMs };
      this.windows.set(key, window);
    }
    window.hits += 1;
    return { hits: window.hits, resetInMs: window.endsAt - now };
  }

  forget(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  sweep(now = this.now()): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.windows.clear();
  }
}
