import type { Clock } from '../../src/clock.js';

interface Pending {
  at: number;
  order: number;
  fn: () => void;
}

/**
 * A manual Clock: time moves only in `advance`, which runs the timers that fall due in time
 * order (ties in the order they were set), each at its own time.
 */
export class FakeClock implements Clock {
  private time: number;
  private order = 0;
  private readonly timers = new Map<number, Pending>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle = ++this.order;
    this.timers.set(handle, { at: this.time + Math.max(0, ms), order: handle, fn });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  random(): number {
    return 0.5;
  }

  /** Timers not yet run. */
  get pending(): number {
    return this.timers.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, Pending] | undefined;
      for (const entry of this.timers) {
        if (entry[1].at > end) continue;
        if (!next || entry[1].at < next[1].at || (entry[1].at === next[1].at && entry[1].order < next[1].order))
          next = entry;
      }
      if (!next) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].fn();
    }
    this.time = end;
  }
}
