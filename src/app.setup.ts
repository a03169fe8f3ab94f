import type { ServerResponse } from 'node:http';
import { ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { HttpAdapterHost } from '@nestjs/core';
import helmet from 'helmet';
import type { Logger as PinoLogger } from 'pino';
import { AccessTokenService } from './auth/access-token.service';
import { authContext } from './auth/auth-context.middleware';
import { HttpErrorsFilter } from './common/http-errors.filter';
import { writeHttpError } from './common/http-error-response';
import { requestLogger } from './common/logging';
import { PinoNestLogger } from './common/nest-logger';
import { setupSwagger } from './common/openapi';
import { jsonBodyMiddleware } from './common/json-body.middleware';
import { SafeInputPipe } from './common/safe-input.pipe';
import { demoEnabled, docsEnabled } from './config/app.config';
import type { Environment } from './config/environment';
import { DatabaseAvailability } from './database/database-availability.service';
import { DEMO_PATH, demoPage } from './demo/demo-page';
import { DrainState } from './health/drain.service';
import { metricsTokenGate } from './metrics/metrics-access';
import { metricsExposure } from './metrics/metrics.config';
import { MetricsService } from './metrics/metrics.service';
import { ParleyWsAdapter } from './realtime/parley-ws.adapter';
import { ConnectionManager } from './realtime/connection-manager.service';

export const API_PREFIX = 'api/v1';
/** Routes served outside API_PREFIX: the probes, the metrics and the AsyncAPI document. */
export const UNPREFIXED_ROUTES = ['health', 'health/live', 'metrics', 'docs/asyncapi.json'];

/** Everything about the HTTP app that is not a module: shared by main.ts and the tests. */
export function configureApp(app: NestExpressApplication, env: Environment, logger: PinoLogger): void {
  app.useLogger(new PinoNestLogger(logger));
  app.set('trust proxy', env.TRUST_PROXY_HOPS || false);
  app.disable('x-powered-by');
  // No ETags: hashing every JSON body costs each request, and clients page by seq and
  // cursor rather than revalidate.
  app.set('etag', false);
  const server = app.getHttpServer();
  server.keepAliveTimeout = env.HTTP_KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = env.HTTP_KEEP_ALIVE_TIMEOUT_MS + 1_000; // must exceed keepAliveTimeout

  app.use(requestLogger(logger));
  const drain = app.get(DrainState);
  // While draining, each response closes its connection: keep-alive clients reconnect, through
  // the load balancer, to an instance that stays.
  app.use((_req: unknown, res: { setHeader(name: string, value: string): void }, next: () => void) => {
    if (drain.draining) res.setHeader('Connection', 'close');
    next();
  });
  app.use(authContext(app.get(AccessTokenService)));
  app.use(app.get(MetricsService).httpMiddleware());
  // No upgrade-insecure-requests: it breaks /docs over plain HTTP on a LAN address;
  // TLS is the proxy's job.
  app.use(helmet({ contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } } }));
  // What stays internal in production (DOCS_ENABLED, DEMO_ENABLED, METRICS_PORT, METRICS_TOKEN): after
  // the timing (counted as unmatched) and helmet (the refusals carry its headers too).
  const metricsHere = metricsExposure(env) === 'api';
  const demo = demoEnabled(env);
  app.use(notFoundOutsideApi(docsEnabled(env), metricsHere, demo));
  if (metricsHere && env.METRICS_TOKEN) app.use(metricsTokenGate(env.METRICS_TOKEN));
  // Static files with a policy of their own; answers every path under it (a 404 in JSON too).
  if (demo) app.use(DEMO_PATH, ...demoPage());
  const origins = env.CORS_ORIGINS.split(',')
    .map((origin) => origin.trim())
    .filter(Boolean);
  if (origins.length) {
    app.enableCors({
      origin: origins.includes('*') ? true : origins,
      // What a browser client must read to pace itself and to report a request.
      exposedHeaders: [
        'Retry-After',
        'X-Request-Id',
        'X-RateLimit-Limit',
        'X-RateLimit-Remaining',
        'X-RateLimit-Reset',
      ],
      maxAge: 600,
    });
  }
  app.use(jsonBodyMiddleware(env.BODY_LIMIT_BYTES));

  app.useWebSocketAdapter(new ParleyWsAdapter(app, app.get(ConnectionManager)));
  app.setGlobalPrefix(API_PREFIX, { exclude: UNPREFIXED_ROUTES });
  app.useGlobalPipes(
    new SafeInputPipe(),
    new ValidationPipe({
      whitelist: true,
      forbidNonWhitelisted: true,
      forbidUnknownValues: true,
      transform: true,
      validationError: { target: false, value: false },
    }),
  );
  app.useGlobalFilters(new HttpErrorsFilter(app.get(HttpAdapterHost).httpAdapter, app.get(DatabaseAvailability)));
  if (docsEnabled(env)) setupSwagger(app);
}

/**
 * Nest answers unknown routes in JSON only under API_PREFIX; Express would answer the others
 * with an HTML page. The same 404 for what is not served here: the documents with
 * DOCS_ENABLED=false, the demo page with DEMO_ENABLED=false, /metrics when off or on METRICS_PORT.
 * Every client gets the one error shape.
 */
function notFoundOutsideApi(docs: boolean, metrics: boolean, demo: boolean) {
  const routes = new Set([
    '/health',
    '/health/live',
    ...(metrics ? ['/metrics'] : []),
    ...(docs ? ['/docs', '/docs-json', '/docs-yaml'] : []),
  ]);
  return (req: { url?: string; method?: string }, res: ServerResponse, next: () => void): void => {
    const path = (req.url ?? '').split('?')[0];
    // Express routes match with or without one trailing slash (`/health/`): so does this.
    const bare = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
    const lower = bare.toLowerCase();
    if (
      path.startsWith(`/${API_PREFIX}/`) ||
      routes.has(lower) ||
      (docs && path.startsWith('/docs/')) ||
      // Express mounts match in any case, as its routes do.
      (demo && (lower === DEMO_PATH || lower.startsWith(`${DEMO_PATH}/`)))
    )
      return next();
    writeHttpError(res, 404, `Cannot ${req.method} ${path}`);
  };
}
