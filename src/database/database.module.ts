import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../ormconfig';
import type { DatabaseConfig } from './database.config';
import { DatabaseAvailability } from './database-availability.service';

/** Any constant: serialises migrations of instances that start together. */
const MIGRATION_LOCK_ID = 7_202_611;

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [ConfigService],
      useFactory: (config: ConfigService<DatabaseConfig, true>) => ({
        ...dataSourceOptions(
          config.get('DATABASE_URL', { infer: true })!,
          config.get('DATABASE_POOL_SIZE', { infer: true }),
        ),
        migrationsRun: config.get('MIGRATIONS_RUN', { infer: true }),
        // main.ts has already waited for the database (database-probe.ts): a failure here is not an outage to sit out.
        retryAttempts: 0,
      }),
      // TypeORM's own migrationsRun takes no lock; run them here under one instead.
      dataSourceFactory: async (options) => {
        const dataSource = await new DataSource({ ...options!, migrationsRun: false }).initialize();
        if (options!.migrationsRun) await runMigrationsLocked(dataSource);
        return dataSource;
      },
    }),
  ],
  providers: [DatabaseAvailability],
  exports: [DatabaseAvailability],
})
export class DatabaseModule {}

/** Runs pending migrations under a PostgreSQL advisory lock, so concurrent starts take turns. */
export async function runMigrationsLocked(dataSource: DataSource): Promise<string[]> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_ID]);
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((migration) => migration.name);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_ID]).catch(() => undefined);
    await runner.release();
  }
}
