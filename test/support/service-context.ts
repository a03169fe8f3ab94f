import { PinoNestLogger } from '../../src/common/nest-logger';
import type { INestApplicationContext, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AppModule } from '../../src/app.module';
import { createRootLogger } from '../../src/common/logging';
import { validateEnvironment } from '../../src/config/environment';
import { UsersService } from '../../src/users/users.service';
import { serverLogDestination } from './server-errors';
import { TEST_JWT_SECRET } from './test-app';

/**
 * The medium tier: the app's modules and services on the run's real PostgreSQL, with no
 * HTTP server and no socket: a service is called the way a controller calls it.
 */
export interface ServiceContext {
  get<T>(type: Type<T>): T;
  dataSource: DataSource;
  /** A user row (no password work): the id is what services take. */
  user(): Promise<string>;
  close(): Promise<void>;
}

const logger = createRootLogger({ LOG_LEVEL: 'warn' }, serverLogDestination('service context'));

export async function startServiceContext(overrides: Record<string, string> = {}): Promise<ServiceContext> {
  const env = validateEnvironment({
    NODE_ENV: 'test',
    DATABASE_URL: process.env.DATABASE_URL,
    DATABASE_POOL_SIZE: '3',
    JWT_SECRET: TEST_JWT_SECRET,
    ...overrides,
  });
  const moduleRef = await Test.createTestingModule({ imports: [AppModule.forRoot(env)] }).compile();
  moduleRef.useLogger(new PinoNestLogger(logger));
  const context: INestApplicationContext = await moduleRef.init();
  const users = context.get(UsersService);
  return {
    get: (type) => context.get(type),
    dataSource: context.get(DataSource),
    user: async () =>
      (
        await users.create({
          username: `m${randomBytes(8).toString('hex')}`,
          displayName: 'Medium',
          passwordHash: 'not-a-real-hash',
        })
      ).id,
    close: () => context.close(),
  };
}
