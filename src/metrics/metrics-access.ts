import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import type { MetricsConfig } from './metrics.config';
import type { MetricsService } from './metrics.service';

type Reply = { statusCode: number; error: string; message: string };

/** Nest's error shape, so that a refusal here reads like every other REST error. */
function refuse(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(reply.statusCode, { 'Content-Type': 'application/json; charset=utf-8', ...extraHeaders });
  res.end(JSON.stringify(reply));
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Whether the request carries `Authorization: Bearer <token>` (compared in constant time). */
export function hasMetricsToken(req: IncomingMessage, token: string): boolean {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer (.+)$/i.exec(header) : null;
  return !!match && timingSafeEqual(digest(match[1]), digest(token));
}

const UNAUTHORIZED: Reply = {
  statusCode: 401,
  error: 'Unauthorized',
  message: 'metrics need Authorization: Bearer <METRICS_TOKEN>',
};

/**
 * /metrics on the API port: refused (404, as if absent) when metrics are off or served on
 * their own port; with METRICS_TOKEN, 401 without it. Anything else goes on to the controller.
 */
export function metricsGate(exposure: 'api' | 'own-port' | 'off', token: string | undefined) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    // Express matches routes without regard to case: so does this gate.
    const path = (req.url ?? '').split('?')[0].toLowerCase();
    if (path !== '/metrics' && path !== '/metrics/') return next();
    if (exposure !== 'api') {
      return refuse(res, { statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} /metrics` });
    }
    if (token && !hasMetricsToken(req, token)) return refuse(res, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
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
      return refuse(res, { statusCode: 404, error: 'Not Found', message: `Cannot ${req.method} ${path}` });
    }
    if (config.METRICS_TOKEN && !hasMetricsToken(req, config.METRICS_TOKEN)) {
      return refuse(res, UNAUTHORIZED, { 'WWW-Authenticate': 'Bearer' });
    }
    metrics.render().then(
      (body) => {
        res.writeHead(200, {
          'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
          'Cache-Control': 'no-store',
        });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      () => refuse(res, { statusCode: 500, error: 'Internal Server Error', message: 'metrics unavailable' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.METRICS_PORT, host, () => resolve());
  });
  return server;
}
