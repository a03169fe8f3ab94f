import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import type { RateLimitConfig } from './rate-limit.config';
import { limitKey, policyRules, REFUSALS, type LimitPolicy, type PolicyRule } from './rate-limit.policies';
import { RateLimitedException } from './rate-limited.exception';
import { SharedThrottlerStorage } from './shared-throttler.storage';

/** What is left of a budget after a call was counted. */
export interface Budget {
  allowed: boolean;
  limit: number;
  remaining: number;
  resetInMs: number;
}

/**
 * The limits counted outside the throttler's guard: message sends (REST and the
 * socket's `message.send` both, counted by MessagesService with each batch of
 * sends), forgiving a login's count after a success, and the frames of a socket.
 * Every refusal, the guard's included, is counted here in `rate_limited_total{policy}`.
 */
@Injectable()
export class RateLimitsService {
  readonly rules: Record<LimitPolicy, PolicyRule>;
  private readonly refusedTotal: Counter<'policy'>;

  constructor(
    private readonly storage: SharedThrottlerStorage,
    config: ConfigService<RateLimitConfig, true>,
    metrics: MetricsService,
  ) {
    this.rules = policyRules(config);
    this.refusedTotal = new Counter({
      name: 'rate_limited_total',
      help: 'Calls refused by a limit of docs/protocol.md §4, by policy (rest, register, login, send, frames)',
      labelNames: ['policy'] as const,
      registers: [metrics.registry],
    });
  }

  /** One call for each tracker (one Redis round trip for all); the caller refuses those not allowed (refused()). */
  async countEach(policy: LimitPolicy, trackers: readonly string[]): Promise<Budget[]> {
    const { limit, windowMs } = this.rules[policy];
    const hits = await this.storage.hitAll(
      trackers.map((tracker) => limitKey(policy, tracker)),
      windowMs,
    );
    return hits.map((hit) => ({
      allowed: hit.hits <= limit,
      limit,
      remaining: Math.max(0, limit - hit.hits),
      resetInMs: hit.resetInMs,
    }));
  }

  /** Forgets `tracker`'s count of `policy` (a successful login consumes nothing of the failure budget). */
  forgive(policy: LimitPolicy, tracker: string): Promise<void> {
    return this.storage.forget(limitKey(policy, tracker));
  }

  /**
   * One frame of a socket. Counted in this instance's memory on purpose: a socket
   * lives on one instance, so a shared count would be the same number for a Redis
   * round trip per frame.
   */
  admitFrame(socketId: string): boolean {
    const { limit, windowMs } = this.rules.frames;
    const allowed = this.storage.hitLocal(limitKey('frames', socketId), windowMs).hits <= limit;
    if (!allowed) this.refusedTotal.inc({ policy: 'frames' });
    return allowed;
  }

  forgetFrames(socketId: string): void {
    this.storage.forgetLocal(limitKey('frames', socketId));
  }

  /** The 429 of `policy`, counted. */
  refused(policy: LimitPolicy, retryAfterMs: number): RateLimitedException {
    this.refusedTotal.inc({ policy });
    return new RateLimitedException(retryAfterMs, REFUSALS[policy]);
  }
}
