import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import { writeHttpError } from '../common/http-error-response';
import type { MetricsConfig } from './metrics.config';
import type { MetricsService } from './metrics.service';

const UNAUTHORIZED = 'metrics need Authorization: Bearer <METRICS_TOKEN>';

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasMetricsToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (.+)$/i.exec(header) : null;
  return !!match && timingSafeEqual(digest(match[1]), digest(token));
}

/**
 * METRICS_TOKEN on the API port: /metrics answers 401 without it. (Where /metrics is not
 * served on the API port at all, app.setup's notFoundOutsideApi answers 404 first.)
 */
export function metricsTokenGate(token: string) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    // Express matches routes without regard to case: so does this gate.
    const path = (req.url ?? '').split('?')[0].toLowerCase();
    if (path !== '/metrics' && path !== '/metrics/') return next();
    if (!hasMetricsToken(req, token)) return writeHttpError(res, 401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
    next();
  };
}

/** METRICS_PORT: a plain HTTP server that answers GET /metrics and nothing else. */
export async function startMetricsServer(
  metrics: MetricsService,
  config: MetricsConfig,
  host: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return writeHttpError(res, 404, `Cannot ${req.method} ${path}`);
    }
    if (config.METRICS_TOKEN && !hasMetricsToken(req, config.METRICS_TOKEN)) {
      return writeHttpError(res, 401, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
    }
    metrics.render().then(
      (body) => {
        res.writeHead(200, {
          'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => writeHttpError(res, 500, 'metrics unavailable'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.METRICS_PORT, host, () => resolve());
  });
  return server;
}
