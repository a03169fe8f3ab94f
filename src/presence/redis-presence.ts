import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { PresenceStore } from './presence-store';

/**
 * Socket counts of the whole cluster in Redis (every key after REDIS_PREFIX):
 * `presence:user:<id>` is a hash of instance id -> open sockets there;
 * `presence:instance:<id>` lives while that instance renews it, so the sockets of
 * a killed instance stop counting within PRESENCE_TTL_MS. The scripts prune dead
 * instances as they read.
 */
const USER = 'presence:user:';
const INSTANCE = 'presence:instance:';
const GRACE = 'presence:grace:';
const GRACE_MARKER_SLACK_MS = 5_000;

/** ARGV[1] of every script that reads counts: the prefix of the instance keys. */
const LIVE_TOTAL = `
local function live_total(key)
  local fields = redis.call('HGETALL', key)
  local total = 0
  for i = 1, #fields, 2 do
    if redis.call('EXISTS', ARGV[1] .. fields[i]) == 1 then
      total = total + tonumber(fields[i + 1])
    else
      redis.call('HDEL', key, fields[i])
    end
  end
  return total
end
`;

/** KEYS: user hash, grace key. ARGV: instance prefix, instance, max. Returns -1 when full, else {total, wasInGrace}. */
const ACQUIRE = `${LIVE_TOTAL}
local total = live_total(KEYS[1])
if total >= tonumber(ARGV[3]) then return {-1, 0} end
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
local grace = redis.call('DEL', KEYS[2])
return {total + 1, grace}`;

/** KEYS: user hash, grace key. ARGV: instance prefix, instance, grace ms, token. Returns the cluster total left. */
const RELEASE = `${LIVE_TOTAL}
if redis.call('HINCRBY', KEYS[1], ARGV[2], -1) <= 0 then redis.call('HDEL', KEYS[1], ARGV[2]) end
local total = live_total(KEYS[1])
if total == 0 then redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[3]) end
return total`;

/** KEYS: user hash, grace key. ARGV: instance prefix, token. 1 when the grace ended with nobody back (offline). */
const GRACE_OVER = `${LIVE_TOTAL}
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[2])
if live_total(KEYS[1]) == 0 then return 1 end
return 0`;

/** KEYS: user hashes, then their grace keys. ARGV: instance prefix. Returns 1/0 per user: a socket somewhere, or in grace. */
const ONLINE = `${LIVE_TOTAL}
local n = #KEYS / 2
local result = {}
for i = 1, n do
  if live_total(KEYS[i]) > 0 or redis.call('EXISTS', KEYS[n + i]) == 1 then result[i] = 1 else result[i] = 0 end
end
return result`;

/** Socket counts of the whole cluster in Redis (see the scripts above). */
export class RedisPresenceStore implements PresenceStore {
  private heartbeat?: NodeJS.Timeout;
  private readonly user: string;
  private readonly instance: string;
  private readonly grace: string;

  constructor(
    private readonly redis: Redis,
    prefix: string,
    readonly instanceId: string,
    private readonly ttlMs: number,
    private readonly onHeartbeatFailed: (error: unknown) => void,
  ) {
    this.user = prefix + USER;
    this.instance = prefix + INSTANCE;
    this.grace = prefix + GRACE;
  }

  /** Renews this instance's liveness now and every third of PRESENCE_TTL_MS. */
  async start(): Promise<void> {
    const renew = () =>
      this.redis.set(this.instance + this.instanceId, '1', 'PX', this.ttlMs).catch(this.onHeartbeatFailed);
    await renew();
    this.heartbeat = setInterval(renew, Math.floor(this.ttlMs / 3)).unref();
  }

  /** Our sockets stop counting at once rather than after the TTL. */
  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    await this.redis.del(this.instance + this.instanceId).catch(() => undefined);
  }

  async acquire(userId: string, max: number): Promise<{ first: boolean } | undefined> {
    const [total, grace] = (await this.redis.eval(
      ACQUIRE,
      2,
      this.user + userId,
      this.grace + userId,
      this.instance,
      this.instanceId,
      max,
    )) as [number, number];
    return total < 0 ? undefined : { first: total === 1 && grace !== 1 };
  }

  /**
   * Frees a slot; when none is left anywhere, the grace starts (a token names this
   * grace, so that only its own check ends it). The marker's own expiry, later than
   * graceMs, only cleans up after an instance that died meanwhile.
   */
  async release(userId: string, graceMs: number): Promise<(() => Promise<boolean>) | undefined> {
    const token = randomUUID();
    const markerMs = graceMs + GRACE_MARKER_SLACK_MS;
    const total = (await this.redis.eval(
      RELEASE,
      2,
      this.user + userId,
      this.grace + userId,
      this.instance,
      this.instanceId,
      markerMs,
      token,
    )) as number;
    if (total > 0) return undefined;
    return async () =>
      (await this.redis.eval(GRACE_OVER, 2, this.user + userId, this.grace + userId, this.instance, token)) === 1;
  }

  async online(userIds: readonly string[]): Promise<boolean[]> {
    if (!userIds.length) return [];
    const keys = [...userIds.map((id) => this.user + id), ...userIds.map((id) => this.grace + id)];
    return ((await this.redis.eval(ONLINE, keys.length, ...keys, this.instance)) as number[]).map((v) => v === 1);
  }
}
