import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { AppConfig } from '../config/app.config';
import { requestScopedLogger } from './nest-logger';

/**
 * Query parameters whose value is a secret, matched without regard to case: the
 * WebSocket's `token`, and the names clients and proxies commonly use for tokens,
 * passwords and keys, so that a client that puts one in a URL does not leak it here.
 */
export const SECRET_QUERY_PARAMETERS = [
  'token',
  'access_token',
  'accessToken',
  'refresh_token',
  'refreshToken',
  'id_token',
  'password',
  'secret',
  'client_secret',
  'api_key',
  'apiKey',
  'key',
  'code',
  'signature',
  'sig',
] as const;

const SECRET_QUERY = new RegExp(`([?&](?:${SECRET_QUERY_PARAMETERS.join('|')})=)[^&#]*`, 'gi');

/** Secrets never reach the log, whatever object they are logged in. */
const REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["sec-websocket-protocol"]',
  ...SECRET_QUERY_PARAMETERS.map((name) => `req.query.${name}`),
  'res.headers["set-cookie"]',
  '*.password',
  '*.refreshToken',
  '*.accessToken',
  '*.token',
];

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const QUIET_PATHS = new Set(['/health', '/health/live', '/metrics']);

export function createRootLogger(env: Pick<AppConfig, 'LOG_LEVEL'>, destination?: DestinationStream): Logger {
  const options = {
    level: env.LOG_LEVEL,
    // hostname and pid name the instance on every line.
    base: { service: 'parley', hostname: hostname(), pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[REDACTED]' },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** Replaces the value of every secret-bearing query parameter (SECRET_QUERY_PARAMETERS) of a URL. */
export function redactUrl(url: string | undefined): string | undefined {
  return url?.replace(SECRET_QUERY, '$1[REDACTED]');
}

/**
 * Express's request as far as logging reads it (`ip` honours TRUST_PROXY_HOPS; `user`
 * is set by the auth guard once the token's user is known to exist).
 */
type LoggedRequest = IncomingMessage & {
  id?: string;
  log?: Logger;
  originalUrl?: string;
  ip?: string;
  user?: { id: string };
};

/**
 * The access log and request id, for every HTTP request: echoes a sane incoming
 * X-Request-Id or makes one up, gives the request a logger bound to that id (what
 * Nest's Logger writes with during the request, see nest-logger.ts), and writes one line when
 * the response ends: info for 2xx/3xx, warn for 4xx, 503 and aborted requests, error
 * for other 5xx. The request is serialised only when that line is written: requests whose
 * line is below LOG_LEVEL cost an id and a small child logger, nothing more.
 */
export function requestLogger(logger: Logger) {
  return (req: LoggedRequest, res: ServerResponse, next: () => void): void => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    req.log = logger.child({ reqId: id });
    res.setHeader('X-Request-Id', id);
    // Probes and scrapes come every few seconds: a line only when one fails.
    const quiet = QUIET_PATHS.has((req.url ?? '').split('?')[0]);
    const started = performance.now();
    const done = () => {
      res.off('finish', done);
      res.off('close', done);
      const aborted = !res.writableFinished;
      if (quiet && !aborted && res.statusCode < 400) return;
      // 503 is "retry later" (an outage, logged once where it is seen), not a bug.
      const bug = res.statusCode >= 500 && res.statusCode !== 503;
      const level = bug && !aborted ? 'error' : aborted || res.statusCode >= 400 ? 'warn' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: serializeRequest({
            id,
            method: req.method,
            url: req.originalUrl ?? req.url,
            remoteAddress: req.ip ?? req.socket?.remoteAddress,
            headers: req.headers,
            userId: req.user?.id,
          }),
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    };
    res.on('finish', done);
    res.on('close', done);
    requestScopedLogger.run(req.log, next);
  };
}

export function serializeRequest(req: {
  id?: unknown;
  method?: string;
  url?: string;
  remoteAddress?: string;
  headers?: Record<string, unknown>;
  userId?: string;
}): Record<string, unknown> {
  return {
    id: req.id,
    method: req.method,
    url: redactUrl(req.url),
    remoteAddress: req.remoteAddress,
    userAgent: req.headers?.['user-agent'],
    // Authenticated requests only; absent (not null) otherwise, so the line stays short.
    ...(req.userId ? { userId: req.userId } : {}),
  };
}
