/**
 * Time and randomness, injectable so that tests drive the client with fake timers and
 * fixed jitter. The default reads the globals at each call, so Jest's fake timers apply.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** In [0, 1): backoff jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

/** A UUID v4. `crypto.randomUUID` exists only in secure contexts (not on http://<LAN address>). */
export function randomId(): string {
  const crypto = globalThis.crypto;
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A one-shot timer that can be re-armed; `clear()` is safe at any time. */
export class Timer {
  private handle: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly fn: () => void,
  ) {}

  get armed(): boolean {
    return this.handle !== undefined;
  }

  /** (Re)starts the timer. */
  start(ms: number): void {
    this.clear();
    this.handle = this.clock.setTimeout(() => {
      this.handle = undefined;
      this.fn();
    }, ms);
  }

  /** Starts it unless it is already running. */
  ensure(ms: number): void {
    if (this.handle === undefined) this.start(ms);
  }

  clear(): void {
    if (this.handle === undefined) return;
    this.clock.clearTimeout(this.handle);
    this.handle = undefined;
  }
}
