import { Logger } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EventEmitter } from 'node:events';
import { Clock } from '../common/clock';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { SharedThrottlerStorage } from './shared-throttler.storage';

/** Just enough of an ioredis client for the counter: status, its events, the script command, del. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  failing: Error | undefined;
  readonly counts = new Map<string, number>();
  calls = 0;
  defineCommand(): void {}
  parleyRateHits(keyCount: number, ...keysThenWindows: (string | number)[]): Promise<number[]> {
    this.calls += 1;
    if (this.failing) return Promise.reject(this.failing);
    const out: number[] = [];
    for (let i = 0; i < keyCount; i++) {
      const key = keysThenWindows[i] as string;
      const hits = (this.counts.get(key) ?? 0) + 1;
      this.counts.set(key, hits);
      out.push(hits, keysThenWindows[keyCount + i] as number);
    }
    return Promise.resolve(out);
  }
  del(key: string): Promise<number> {
    return Promise.resolve(this.counts.delete(key) ? 1 : 0);
  }
}

/** The fallback between Redis and memory, with a fake client (the real one: test/rate-limits-cluster.e2e-spec.ts). */
describe('SharedThrottlerStorage', () => {
  async function setup(redisEnabled = true) {
    const redis = new FakeRedis();
    const clock = { now: () => 1_000_000 };
    const moduleRef = await Test.createTestingModule({
      providers: [
        SharedThrottlerStorage,
        MetricsService,
        { provide: Clock, useValue: clock },
        {
          provide: RedisService,
          useValue: { enabled: redisEnabled, prefix: 'test:', connect: () => redis },
        },
      ],
    }).compile();
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const log = jest.spyOn(Logger.prototype, 'log').mockImplementation(() => undefined);
    const metrics = moduleRef.get(MetricsService);
    const gauge = async () => /^rate_limit_shared (\d)$/m.exec(await metrics.render())![1];
    return {
      storage: moduleRef.get(SharedThrottlerStorage),
      redis,
      clock,
      warn,
      log,
      gauge,
      close: () => moduleRef.close(),
    };
  }
  afterEach(() => jest.restoreAllMocks());

  it('counts in Redis, under the prefix, while it answers', async () => {
    const { storage, redis, gauge, close } = await setup();
    await storage.hit('send:user:a', 1_000);
    const third = (await storage.hit('send:user:a', 1_000), await storage.hit('send:user:a', 1_000));
    expect(third).toEqual({ hits: 3, resetInMs: 1_000 });
    expect([...redis.counts]).toEqual([['test:rl:send:user:a', 3]]);
    expect(await gauge()).toBe('1');
    await close();
  });

  it('falls back to memory on the first failure: one warning, the gauge at 0, no error to the caller', async () => {
    const { storage, redis, warn, gauge, close } = await setup();
    redis.failing = new Error('Command timed out');
    for (let i = 0; i < 5; i++) await storage.hit('k', 1_000);
    expect((await storage.hit('k', 1_000)).hits).toBe(6);
    expect(redis.calls).toBe(1); // after the failure, no call waits for Redis again before the retry time
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0][1]).toMatch(/counted by each instance alone/);
    expect(await gauge()).toBe('0');
    expect(storage.isShared).toBe(false);
    await close();
  });

  it('treats a connection that is not ready as away, without sending to it', async () => {
    const { storage, redis, warn, close } = await setup();
    redis.status = 'reconnecting';
    await storage.hit('k', 1_000);
    await storage.hit('k', 1_000);
    expect(redis.calls).toBe(0);
    expect(warn).toHaveBeenCalledTimes(1);
    await close();
  });

  it('tries Redis again once a second, one call at a time, and shares again when it answers', async () => {
    const { storage, redis, clock, log, gauge, close } = await setup();
    redis.failing = new Error('Connection is closed.');
    await storage.hit('k', 10_000);
    redis.failing = undefined;
    await storage.hit('k', 10_000); // before the retry time: memory
    expect(redis.calls).toBe(1);
    clock.now = () => 1_001_000;
    const [first, second] = await Promise.all([storage.hit('k', 10_000), storage.hit('k', 10_000)]);
    expect(redis.calls).toBe(2); // one retry; the concurrent call went to memory
    expect([first.hits, second.hits]).toEqual([1, 3]);
    expect(storage.isShared).toBe(true);
    expect(log).toHaveBeenCalledWith(expect.stringMatching(/shared by the cluster again/));
    expect(await gauge()).toBe('1');
    await close();
  });

  it('tries Redis at once when the connection is ready again', async () => {
    const { storage, redis, close } = await setup();
    redis.status = 'reconnecting';
    await storage.hit('k', 10_000);
    redis.status = 'ready';
    redis.emit('ready');
    expect((await storage.hit('k', 10_000)).hits).toBe(1); // from Redis, not the second in memory
    expect(storage.isShared).toBe(true);
    await close();
  });

  it('forgets a key in memory and in Redis', async () => {
    const { storage, redis, close } = await setup();
    await storage.hit('login:a|1.2.3.4', 60_000);
    await storage.forget('login:a|1.2.3.4');
    expect(redis.counts.size).toBe(0);
    expect((await storage.hit('login:a|1.2.3.4', 60_000)).hits).toBe(1);
    await close();
  });

  it('without REDIS_URL counts in memory only, fixed windows that start at the first hit', async () => {
    const { storage, clock, gauge, close } = await setup(false);
    expect((await storage.hit('k', 1_000)).hits).toBe(1);
    clock.now = () => 1_000_600;
    expect(await storage.hit('k', 1_000)).toEqual({ hits: 2, resetInMs: 400 });
    clock.now = () => 1_001_000;
    expect(await storage.hit('k', 1_000)).toEqual({ hits: 1, resetInMs: 1_000 });
    expect(await gauge()).toBe('0');
    await close();
  });

  it('answers the throttler in its terms: seconds, blocked once past the limit', async () => {
    const { storage, close } = await setup(false);
    expect(await storage.increment('k', 1_500, 1)).toEqual({
      totalHits: 1,
      timeToExpire: 2,
      isBlocked: false,
      timeToBlockExpire: 0,
    });
    expect(await storage.increment('k', 1_500, 1)).toMatchObject({
      totalHits: 2,
      isBlocked: true,
      timeToBlockExpire: 2,
    });
    await close();
  });

  it('sweeps ended windows, so memory follows active keys only', async () => {
    const { storage, clock, close } = await setup(false);
    for (let i = 0; i < 1_000; i++) storage.hitLocal(`frames:${i}`, 1_000);
    expect(storage.localSize).toBe(1_000);
    clock.now = () => 1_001_000;
    (storage as unknown as { memory: { sweep(): void } }).memory.sweep();
    expect(storage.localSize).toBe(0);
    await close();
  });
});
