import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { Counter, Gauge } from 'prom-client';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { RedisWindowCounter } from './redis-window-counter';
import { MemoryWindowCounter, type WindowCount } from './window-counter';

/** ThrottlerStorageRecord of @nestjs/throttler, which its index does not export. */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** A Redis answer slower than this counts as Redis being away (a stalled server must not stall requests). */
export const REDIS_LIMIT_TIMEOUT_MS = 250;
/** While Redis is away, one call tries it again this often. */
const RETRY_SHARED_MS = 1_000;

/**
 * The throttler's storage (ThrottlerStorage of @nestjs/throttler), and what the
 * gateway and services count through, so that every limit is counted in one place.
 *
 * With REDIS_URL the counts live in Redis under REDIS_PREFIX + `rl:`, one for the
 * whole cluster. While Redis is away (not connected, an error, no answer within
 * REDIS_LIMIT_TIMEOUT_MS) each instance counts in its own memory: limits hold per
 * instance instead of failing requests. One warning per outage, and the gauge
 * `rate_limit_shared` says which; back to Redis once a retry answers. Without
 * REDIS_URL, memory is the only store. Both count fixed windows the same way.
 */
@Injectable()
export class SharedThrottlerStorage implements ThrottlerStorage, OnModuleDestroy {
  private readonly logger = new Logger('RateLimits');
  private readonly memory: MemoryWindowCounter;
  private readonly client?: Redis;
  private readonly redis?: RedisWindowCounter;
  private shared: boolean;
  private retryAt = 0;
  private retrying = false;
  private readonly sharedGauge: Gauge;
  private readonly fallbacks: Counter;

  constructor(
    redis: RedisService,
    metrics: MetricsService,
    private readonly clock: Clock,
  ) {
    this.memory = new MemoryWindowCounter(() => clock.now());
    if (redis.enabled) {
      this.client = redis.connect('rate-limit', { commandTimeout: REDIS_LIMIT_TIMEOUT_MS });
      this.redis = new RedisWindowCounter(this.client, `${redis.prefix}rl:`);
      // Reconnected: the next call tries Redis at once rather than after the retry time.
      this.client.on('ready', () => (this.retryAt = 0));
    }
    this.shared = redis.enabled;
    this.sharedGauge = new Gauge({
      name: 'rate_limit_shared',
      help: '1 while rate limits are counted in Redis for the whole cluster, 0 while this instance counts alone',
      registers: [metrics.registry],
    });
    this.fallbacks = new Counter({
      name: 'rate_limit_local_total',
      help: 'Limited calls counted in this instance memory because Redis was unavailable (REDIS_URL set)',
      registers: [metrics.registry],
    });
    this.sharedGauge.set(this.shared ? 1 : 0);
  }

  /** ThrottlerStorage, for the throttler's guard: times in seconds, blocked once over the limit. */
  async increment(key: string, ttl: number, limit: number): Promise<ThrottlerStorageRecord> {
    const { hits, resetInMs } = await this.hit(key, ttl);
    const seconds = Math.max(1, Math.ceil(resetInMs / 1000));
    return {
      totalHits: hits,
      timeToExpire: seconds,
      isBlocked: hits > limit,
      timeToBlockExpire: hits > limit ? seconds : 0,
    };
  }

  /** One hit on `key` in a window of `windowMs`, in Redis when it answers, else here. */
  async hit(key: string, windowMs: number): Promise<WindowCount> {
    return (await this.hitAll([key], windowMs))[0];
  }

  /** One hit on each of `keys` (a key named twice is hit twice): one Redis call when it answers, else here. */
  async hitAll(keys: readonly string[], windowMs: number): Promise<WindowCount[]> {
    if (this.redis && this.tryRedis()) {
      try {
        const counts = await this.redis.hitAll(keys, windowMs);
        this.redisAnswered();
        return counts;
      } catch (error) {
        this.redisFailed(error);
      }
    }
    if (this.redis) this.fallbacks.inc(keys.length);
    return keys.map((key) => this.memory.hit(key, windowMs));
  }

  /** A hit counted by this instance only: for keys that exist on one instance (a socket). */
  hitLocal(key: string, windowMs: number): WindowCount {
    return this.memory.hit(key, windowMs);
  }

  forgetLocal(key: string): void {
    this.memory.forget(key);
  }

  /** Forgets `key` wherever it may have been counted. */
  async forget(key: string): Promise<void> {
    this.memory.forget(key);
    if (this.redis && this.shared) await this.redis.forget(key).catch((error: unknown) => this.redisFailed(error));
  }

  /** Keys counted in this instance's memory (frames of open sockets, and everything while Redis is away). */
  get localSize(): number {
    return this.memory.size;
  }

  /** Resolves once the Redis connection is ready (tests: after a restart). */
  async connected(): Promise<void> {
    if (!this.client || this.client.status === 'ready') return;
    await new Promise((resolve) => this.client!.once('ready', resolve));
  }

  get isShared(): boolean {
    return this.shared;
  }

  onModuleDestroy(): void {
    this.memory.close();
  }

  /** Redis while it is shared and connected; while not, one call at a time after each RETRY_SHARED_MS. */
  private tryRedis(): boolean {
    if (this.client!.status !== 'ready') {
      if (this.shared) this.redisFailed(new Error(`Redis connection ${this.client!.status}`));
      return false;
    }
    if (this.shared) return true;
    if (this.retrying || this.clock.now() < this.retryAt) return false;
    this.retrying = true;
    return true;
  }

  private redisAnswered(): void {
    this.retrying = false;
    if (this.shared) return;
    this.shared = true;
    this.sharedGauge.set(1);
    this.logger.log('Redis answers again: rate limits are shared by the cluster again');
  }

  private redisFailed(error: unknown): void {
    this.retrying = false;
    this.retryAt = this.clock.now() + RETRY_SHARED_MS;
    if (!this.shared) return;
    this.shared = false;
    this.sharedGauge.set(0);
    this.logger.warn(
      { reason: (error as Error)?.message },
      'Redis unavailable: rate limits are counted by each instance alone until it is back',
    );
  }
}
