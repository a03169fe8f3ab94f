import { RateLimiterService } from './rate-limiter.service';

describe('RateLimiterService (token buckets)', () => {
  let limiter: RateLimiterService;
  const rule = { limit: 3, windowMs: 3_000 };
  beforeEach(() => (limiter = new RateLimiterService()));
  afterEach(() => limiter.onModuleDestroy());

  it('allows `limit` at once, then refuses with the wait for the next token', () => {
    const t0 = 1_000_000;
    expect([0, 1, 2].map(() => limiter.consume('k', rule, t0).allowed)).toEqual([true, true, true]);
    expect(limiter.consume('k', rule, t0)).toEqual({ allowed: false, retryAfterMs: 1_000 });
    expect(limiter.consume('k', rule, t0 + 400)).toEqual({ allowed: false, retryAfterMs: 600 });
  });

  it('refills evenly over the window, never above the limit', () => {
    const t0 = 1_000_000;
    for (let i = 0; i < 3; i++) limiter.consume('k', rule, t0);
    expect(limiter.consume('k', rule, t0 + 1_000).allowed).toBe(true);
    expect(limiter.consume('k', rule, t0 + 1_000).allowed).toBe(false);
    const later = t0 + 60_000;
    expect([0, 1, 2, 3].map(() => limiter.consume('k', rule, later).allowed)).toEqual([true, true, true, false]);
  });

  it('keeps keys apart', () => {
    for (let i = 0; i < 3; i++) limiter.consume('a', rule, 0);
    expect(limiter.consume('a', rule, 0).allowed).toBe(false);
    expect(limiter.consume('b', rule, 0).allowed).toBe(true);
  });

  it('peek does not take a token; reset forgets the key', () => {
    for (let i = 0; i < 5; i++) expect(limiter.peek('k', rule, 0).allowed).toBe(true);
    for (let i = 0; i < 3; i++) limiter.consume('k', rule, 0);
    expect(limiter.peek('k', rule, 0).allowed).toBe(false);
    limiter.reset('k');
    expect(limiter.peek('k', rule, 0).allowed).toBe(true);
  });

  it('sweeps buckets that have refilled, so memory follows active keys only', () => {
    for (let i = 0; i < 1_000; i++) limiter.consume(`ip:${i}`, rule, 0);
    expect(limiter.size).toBe(1_000);
    limiter.sweep(500);
    expect(limiter.size).toBe(1_000);
    limiter.sweep(1_000);
    expect(limiter.size).toBe(0);
  });
});
