import type { Redis } from 'ioredis';
import { Batcher, type ItemOutcome } from '../common/batcher';
import type { WindowCount } from './window-counter';

/**
 * KEYS: counters. ARGV: their window ms, in the same order. Returns {hits, ms until
 * the window ends} per key, flattened. The first hit sets the expiry; a counter
 * found without one (never left by this script, but cheap to repair) gets it too,
 * so no key outlives its window. A key named twice is counted twice.
 */
const HITS = `
local out = {}
for i = 1, #KEYS do
  local hits = redis.call('INCR', KEYS[i])
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[i])
    ttl = tonumber(ARGV[i])
  end
  out[2 * i - 1] = hits
  out[2 * i] = ttl
end
return out`;

/** Hits that queue behind the call in flight go together in the next one, at most this many. */
const MAX_KEYS_PER_CALL = 100;

type WithHits = Redis & {
  parleyRateHits(keyCount: number, ...keysThenWindows: (string | number)[]): Promise<number[]>;
};

interface Pending {
  key: string;
  windowMs: number;
}

/**
 * The fixed windows of MemoryWindowCounter, counted in Redis for every instance at
 * once: a script (EVALSHA), atomic, so concurrent hits on any instances never both
 * take the last place. One call at a time: the hits that arrive meanwhile go
 * together in the next call, so under load a call costs one round trip for many
 * requests, and alone at once when idle (no timer, no added latency).
 */
export class RedisWindowCounter {
  private readonly redis: WithHits;
  private readonly calls = new Batcher<Pending, WindowCount>((items) => this.count(items), 1, MAX_KEYS_PER_CALL);

  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('parleyRateHits' in redis)) redis.defineCommand('parleyRateHits', { lua: HITS });
    this.redis = redis as WithHits;
  }

  /** One hit on each key, in one call when none is in flight (else in the next one). */
  hitAll(keys: readonly string[], windowMs: number): Promise<WindowCount[]> {
    return Promise.all(this.calls.submitAll(keys.map((key) => ({ key: this.prefix + key, windowMs }))));
  }

  async forget(key: string): Promise<void> {
    await this.redis.del(this.prefix + key);
  }

  private async count(items: Pending[]): Promise<ItemOutcome<WindowCount>[]> {
    const flat = await this.redis.parleyRateHits(
      items.length,
      ...items.map((item) => item.key),
      ...items.map((item) => item.windowMs),
    );
    return items.map((_, i) => ({ ok: true, value: { hits: flat[2 * i], resetInMs: flat[2 * i + 1] } }));
  }
}
