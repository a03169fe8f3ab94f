import { Injectable, OnModuleDestroy } from '@nestjs/common';

export interface RateLimit {
  /** Requests allowed per window (also the burst size). */
  limit: number;
  windowMs: number;
}

export interface RateDecision {
  allowed: boolean;
  /** When not allowed: how long until one more request would be. */
  retryAfterMs: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
  /** When the bucket is full again and can be forgotten. */
  fullAt: number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * Token buckets in memory, one per key: `limit` tokens, refilled evenly over
 * `windowMs`. A token bucket (rather than fixed windows) keeps a client from
 * doubling its rate across a window boundary. Buckets that have refilled are swept.
 */
@Injectable()
export class RateLimiterService implements OnModuleDestroy {
  private readonly buckets = new Map<string, Bucket>();
  private readonly sweeper = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS).unref();

  /** Takes one token from `key` when there is one. */
  consume(key: string, rule: RateLimit, now = Date.now()): RateDecision {
    return this.take(key, rule, now, true);
  }

  /** Tells whether `key` has a token, without taking it. */
  peek(key: string, rule: RateLimit, now = Date.now()): RateDecision {
    return this.take(key, rule, now, false);
  }

  reset(key: string): void {
    this.buckets.delete(key);
  }

  get size(): number {
    return this.buckets.size;
  }

  sweep(now = Date.now()): void {
    for (const [key, bucket] of this.buckets) if (bucket.fullAt <= now) this.buckets.delete(key);
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
  }

  private take(key: string, { limit, windowMs }: RateLimit, now: number, consume: boolean): RateDecision {
    const perMs = limit / windowMs;
    const bucket = this.buckets.get(key);
    const tokens = bucket ? Math.min(limit, bucket.tokens + (now - bucket.updatedAt) * perMs) : limit;
    if (tokens < 1) {
      return { allowed: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
    }
    if (consume) {
      const left = tokens - 1;
      this.buckets.set(key, { tokens: left, updatedAt: now, fullAt: now + Math.ceil((limit - left) / perMs) });
    }
    return { allowed: true, retryAfterMs: 0 };
  }
}
