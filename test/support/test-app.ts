import { Test, type TestingModuleBuilder } from '@nestjs/testing';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { configureApp } from '../../src/app.setup';
import { createRootLogger } from '../../src/common/logging';
import { validateEnvironment, type Environment } from '../../src/config/environment';
import { HttpClient } from './http-client';
import { serverLogDestination } from './server-errors';

/**
 * One logger for every test app of the process, whatever LOG_LEVEL says: Nest keeps
 * the logger it was last given in a static, shared by every app of the process, so
 * each app's lines go to one place whichever app wrote them. Error lines fail the test they are
 * written in (server-errors.ts).
 */
const logLines: Record<string, any>[] = [];
const logWaiters: { match: (line: Record<string, any>) => boolean; resolve: (line: Record<string, any>) => void }[] =
  [];
const logger = createRootLogger(
  { LOG_LEVEL: 'warn' },
  serverLogDestination('test app', (text) => {
    const line = JSON.parse(text) as Record<string, any>;
    logLines.push(line);
    for (const waiter of logWaiters.filter((w) => w.match(line))) {
      logWaiters.splice(logWaiters.indexOf(waiter), 1);
      waiter.resolve(line);
    }
  }),
);

/** The next log line (from now on) that matches: an event to await instead of a sleep. */
export function waitForLog(match: (line: Record<string, any>) => boolean): Promise<Record<string, any>> {
  return new Promise((resolve) => logWaiters.push({ match, resolve }));
}

/** For a test that reads info lines: the shared test logger keeps warn and above otherwise. */
export async function withTestLogLevel<T>(level: 'info' | 'debug', run: () => Promise<T>): Promise<T> {
  const before = logger.level;
  logger.level = level;
  try {
    return await run();
  } finally {
    logger.level = before;
  }
}

export const TEST_JWT_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';

export interface TestApp {
  app: NestExpressApplication;
  env: Environment;
  baseUrl: string;
  http: HttpClient;
  dataSource: DataSource;
  /** Warnings and errors logged since this app started (by any app of the process), parsed. */
  logs: Record<string, any>[];
  close(): Promise<void>;
}

/** Replaces providers of the app for one test (a fake clock, a failing dependency): `(b) => b.overrideProvider(X).useValue(y)`. */
export type Overrides = (builder: TestingModuleBuilder) => TestingModuleBuilder;

/** The real app (built with @nestjs/testing), listening on a loopback port, on the run's test database. */
export async function startTestApp(overrides: Record<string, string> = {}, providers?: Overrides): Promise<TestApp> {
  const env = validateEnvironment({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_POOL_SIZE: '5',
    JWT_SECRET: TEST_JWT_SECRET,
    // Every test registers from 127.0.0.1: only the rate-limit tests use real limits.
    RATE_REGISTER_PER_MIN: '1000000',
    RATE_REST_PER_MIN: '1000000',
    RATE_SEND_PER_SEC: '1000000',
    ...overrides,
  });
  const firstLine = logLines.length;
  const builder = Test.createTestingModule({ imports: [AppModule.forRoot(env)] });
  const moduleRef = await (providers ? providers(builder) : builder).compile();
  const app = moduleRef.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  configureApp(app, env, logger);
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  return {
    app,
    env,
    baseUrl,
    http: new HttpClient(baseUrl),
    dataSource: app.get(DataSource),
    get logs() {
      return logLines.slice(firstLine);
    },
    close: () => app.close(),
  };
}
