import 'reflect-metadata';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createRootLogger } from './common/logging';
import { demoEnabled, docsEnabled } from './config/app.config';
import { PinoNestLogger } from './common/nest-logger';
import { ConfigurationError, type Environment } from './config/environment';
import { loadEnvironment } from './config/load-environment';
import { DatabaseUnreachableError } from './database/database-probe';
import { resolveDatabase, type ResolvedDatabase } from './database/database-url';

async function bootstrap(): Promise<void> {
  let env: Environment;
  try {
    env = loadEnvironment();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    // LOG_LEVEL itself may be what is wrong: this one line is written at any level.
    createRootLogger({ LOG_LEVEL: 'info' }).fatal({ problems: error.problems }, error.message);
    process.exit(1);
  }
  const logger = createRootLogger(env);
  const started = Date.now();
  let database: ResolvedDatabase;
  try {
    database = await resolveDatabase(env, (level, message) =>
      logger[level]({ component: 'embedded-postgres' }, message),
    );
  } catch (error) {
    if (error instanceof DatabaseUnreachableError) {
      const { reason, database, attempts, elapsedMs } = error;
      logger.fatal({ reason, database, attempts, ms: elapsedMs }, error.message);
    } else {
      logger.fatal({ err: error }, `database unavailable: ${(error as Error).message}`);
    }
    process.exit(1);
  }
  if (database.embedded) logger.info({ dataDir: env.DATA_DIR, ms: Date.now() - started }, 'embedded PostgreSQL ready');

  // The app's modules load only now: a start that fails on its configuration or its database
  // says so before spending a second on them.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
  const { AppModule } = require('./app.module.js') as typeof import('./app.module.js');
  const { configureApp } = require('./app.setup.js') as typeof import('./app.setup.js');
  const { DrainState } = require('./health/drain.service.js') as typeof import('./health/drain.service.js');
  /* eslint-enable @typescript-eslint/no-require-imports */
  let app: NestExpressApplication;
  try {
    app = await NestFactory.create<NestExpressApplication>(
      AppModule.forRoot({ ...env, DATABASE_URL: database.url }),
      // Our JSON logger from the first line on, and a failure thrown to the catch below
      // (Nest's default is to print and exit by itself).
      { bodyParser: false, logger: new PinoNestLogger(logger), abortOnError: false },
    );
    configureApp(app, env, logger);
    await app.listen(env.PORT, env.HOST);
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await database.embedded?.stop();
    process.exit(1);
  }
  logger.info({ port: env.PORT, ms: Date.now() - started }, `Parley listening on :${env.PORT}${servedPages(env)}`);

  // Our own handler rather than enableShutdownHooks(), which re-raises the signal
  // and so exits non-zero; the embedded database must stop after the pool closes.
  // First a drain (readiness fails, requests still served), then no new connections.
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    app.get(DrainState).start();
    logger.info({ signal, drainMs: env.SHUTDOWN_DRAIN_MS }, 'draining: /health fails, requests are still served');
    setTimeout(() => stop(), env.SHUTDOWN_DRAIN_MS);
  };
  const stop = () => {
    logger.info('shutting down: no new connections, finishing in-flight requests');
    const deadline = setTimeout(() => {
      logger.error({ timeoutMs: env.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out');
      process.exit(1);
    }, env.SHUTDOWN_TIMEOUT_MS).unref();
    void (async () => {
      try {
        await app.close();
        await database.embedded?.stop();
        clearTimeout(deadline);
        logger.info('stopped');
        process.exit(0);
      } catch (error) {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      }
    })();
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}

/** What the start line points a developer at: ` (docs at /docs, demo at /demo)`, or nothing. */
function servedPages(env: Environment): string {
  const pages = [docsEnabled(env) && 'docs at /docs', demoEnabled(env) && 'demo at /demo'].filter(Boolean);
  return pages.length ? ` (${pages.join(', ')})` : '';
}

void bootstrap();
