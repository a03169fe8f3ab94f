import type { ConfigService } from '@nestjs/config';
import { normalizeIp } from '@nestjs/throttler';
import { asciiLowerCase } from '../common/validation';
import type { RequestWithAuth } from '../common/request-auth';
import type { RateLimitConfig } from './rate-limit.config';

/**
 * The limits of docs/protocol.md §4, by name, all counted by SharedThrottlerStorage.
 * - `rest`: a named throttler of @nestjs/throttler on every REST route unless it says
 *   @SkipThrottle({ rest: true }); per user, per IP before login.
 * - `register`, `login`: named throttlers too, on the routes marked @LimitedBy(...).
 * - `send`: counted by MessagesService with each batch of sends (REST and the socket's
 *   message.send both come there, so they share one budget); its route skips `rest`.
 * - `frames`: counted by the connection manager, per socket.
 */
export type LimitPolicy = 'rest' | 'register' | 'login' | 'send' | 'frames';

/** The throttlers a route opts into; `rest` applies everywhere unless skipped. */
export const OPT_IN_POLICIES = ['register', 'login'] as const;
export type OptInPolicy = (typeof OPT_IN_POLICIES)[number];

export interface PolicyRule {
  limit: number;
  windowMs: number;
}

export function policyRules(config: ConfigService<RateLimitConfig, true>): Record<LimitPolicy, PolicyRule> {
  return {
    rest: { limit: config.get('RATE_REST_PER_MIN', { infer: true }), windowMs: 60_000 },
    register: { limit: config.get('RATE_REGISTER_PER_MIN', { infer: true }), windowMs: 60_000 },
    login: {
      limit: config.get('RATE_LOGIN_FAILS', { infer: true }),
      windowMs: config.get('RATE_LOGIN_WINDOW_MS', { infer: true }),
    },
    send: { limit: config.get('RATE_SEND_PER_SEC', { infer: true }), windowMs: 1_000 },
    frames: { limit: config.get('RATE_WS_PER_SEC', { infer: true }), windowMs: 1_000 },
  };
}

export const REFUSALS: Record<LimitPolicy, string> = {
  rest: 'Too many requests, retry later',
  register: 'Too many registrations, retry later',
  login: 'Too many failed logins, retry later',
  send: 'Too many messages, slow down',
  frames: 'Too many frames: slow down',
};

/** The storage key of a policy's count: the guard and the services build it the same way. */
export const limitKey = (policy: LimitPolicy, tracker: string): string => `${policy}:${tracker}`;

/** IPv6 addresses count per /64: one client holds a whole prefix. */
const clientIp = (ip: string | undefined): string => normalizeIp(ip ?? 'unknown');

export const userTracker = (userId: string): string => `user:${userId}`;
export const ipTracker = (ip: string | undefined): string => `ip:${clientIp(ip)}`;

/** The user of a valid bearer token (request.auth), else the client's IP. */
export const userOrIpTracker = (req: Pick<RequestWithAuth, 'auth'> & { ip?: string }): string =>
  req.auth ? userTracker(req.auth.userId) : ipTracker(req.ip);

/**
 * Username and IP, the username folded as LoginDto folds it, so that "Alice" and
 * "alice" share one budget. Read from the raw body by the guard (before validation)
 * and from the validated one by AuthService, which forgives it after a success.
 */
export function loginTracker(username: unknown, ip: string | undefined): string {
  const name = typeof username === 'string' ? asciiLowerCase(username).slice(0, 64) : '?';
  return `${name}|${clientIp(ip)}`;
}
