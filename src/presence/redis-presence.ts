import type { Redis } from 'ioredis';

/**
 * Socket counts of the whole cluster in Redis: `presence:user:<id>` is a hash of
 * instance id -> open sockets there; `presence:instance:<id>` lives while that
 * instance renews it, so the sockets of a killed instance stop counting within
 * PRESENCE_TTL_MS. The scripts prune dead instances as they read.
 */
const USER = 'presence:user:';
const INSTANCE = 'presence:instance:';
const GRACE = 'presence:grace:';
const GRACE_MARKER_SLACK_MS = 5_000;

const LIVE_TOTAL = `
local function live_total(key)
  local fields = redis.call('HGETALL', key)
  local total = 0
  for i = 1, #fields, 2 do
    if redis.call('EXISTS', '${INSTANCE}' .. fields[i]) == 1 then
      total = total + tonumber(fields[i + 1])
    else
      redis.call('HDEL', key, fields[i])
    end
  end
  return total
end
`;

/** KEYS: user hash, grace key. ARGV: instance, max. Returns -1 when full, else {total, wasInGrace}. */
const ACQUIRE = `${LIVE_TOTAL}
local total = live_total(KEYS[1])
if total >= tonumber(ARGV[2]) then return {-1, 0} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local grace = redis.call('DEL', KEYS[2])
return {total + 1, grace}`;

/** KEYS: user hash, grace key. ARGV: instance, grace ms, token. Returns the cluster total left. */
const RELEASE = `${LIVE_TOTAL}
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
local total = live_total(KEYS[1])
if total == 0 then redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2]) end
return total`;

/** KEYS: user hash, grace key. ARGV: token. 1 when the grace ended with nobody back (offline). */
const GRACE_OVER = `${LIVE_TOTAL}
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[2])
if live_total(KEYS[1]) == 0 then return 1 end
return 0`;

/** KEYS: user hashes, then their grace keys. Returns 1/0 per user: a socket somewhere, or in grace. */
const ONLINE = `${LIVE_TOTAL}
local n = #KEYS / 2
local result = {}
for i = 1, n do
  if live_total(KEYS[i]) > 0 or redis.call('EXISTS', KEYS[n + i]) == 1 then result[i] = 1 else result[i] = 0 end
end
return result`;

export class RedisPresence {
  constructor(
    private readonly redis: Redis,
    readonly instanceId: string,
  ) {}

  /** Renews this instance's liveness. */
  async heartbeat(ttlMs: number): Promise<void> {
    await this.redis.set(INSTANCE + this.instanceId, '1', 'PX', ttlMs);
  }

  async retire(): Promise<void> {
    await this.redis.del(INSTANCE + this.instanceId);
  }

  /** Takes a socket slot: undefined when the user already has `max` sockets in the cluster. */
  async acquire(userId: string, max: number): Promise<{ total: number; wasInGrace: boolean } | undefined> {
    const [total, grace] = (await this.redis.eval(ACQUIRE, 2, USER + userId, GRACE + userId, this.instanceId, max)) as [
      number,
      number,
    ];
    return total < 0 ? undefined : { total, wasInGrace: grace === 1 };
  }

  /**
   * Frees a slot; when none is left anywhere, the grace starts (the token names
   * this grace). The caller ends it with `graceOver` after graceMs; the marker's
   * own expiry, later than that, only cleans up after an instance that died meanwhile.
   */
  async release(userId: string, graceMs: number, token: string): Promise<number> {
    const markerMs = graceMs + GRACE_MARKER_SLACK_MS;
    return (await this.redis.eval(
      RELEASE,
      2,
      USER + userId,
      GRACE + userId,
      this.instanceId,
      markerMs,
      token,
    )) as number;
  }

  async graceOver(userId: string, token: string): Promise<boolean> {
    return (await this.redis.eval(GRACE_OVER, 2, USER + userId, GRACE + userId, token)) === 1;
  }

  async online(userIds: readonly string[]): Promise<boolean[]> {
    if (!userIds.length) return [];
    const keys = [...userIds.map((id) => USER + id), ...userIds.map((id) => GRACE + id)];
    return ((await this.redis.eval(ONLINE, keys.length, ...keys)) as number[]).map((v) => v === 1);
  }
}
