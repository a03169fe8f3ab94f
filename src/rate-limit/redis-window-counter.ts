import type { Redis } from 'ioredis';
import type { WindowCount } from './window-counter';

/**
 * KEYS: the counter. ARGV: window ms. Returns {hits, ms until the window ends}.
 * The first hit sets the expiry; a counter found without one (never left by this
 * script, but cheap to repair) gets it too, so no key outlives its window.
 */
const HIT = `
local hits = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {hits, ttl}`;

type WithHit = Redis & { parleyRateHit(key: string, windowMs: number): Promise<[number, number]> };

/**
 * The fixed windows of MemoryWindowCounter, counted in Redis for every instance at
 * once: one script call per hit (one round trip, EVALSHA after the first), atomic,
 * so concurrent hits on any instances never both take the last place.
 */
export class RedisWindowCounter {
  private readonly redis: WithHit;

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('parleyRateHit' in redis)) redis.defineCommand('parleyRateHit', { numberOfKeys: 1, lua: HIT });
    this.redis = redis as WithHit;
  }

  async hit(key: string, windowMs: number): Promise<WindowCount> {
    const [hits, resetInMs] = await this.redis.parleyRateHit(this.prefix + key, windowMs);
    return { hits, resetInMs };
  }

  async forget(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }
}
