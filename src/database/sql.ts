import { AsyncLocalStorage } from 'node:async_hooks';
import { DatabaseError, type Pool } from 'pg';
import { QueryFailedError, type DataSource, type EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

/** Anything with TypeORM's `query` (DataSource, EntityManager, QueryRunner). */
export interface Queryable {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * Rows of a raw statement. TypeORM's `query()` answers UPDATE and DELETE with
 * `[rows, rowCount]` but every other statement with `rows`; RETURNING makes the
 * difference matter, so all raw SQL that reads results goes through here.
 */
export async function queryRows<T>(db: Queryable, sql: string, parameters: unknown[] = []): Promise<T[]> {
  const result = await (inSnapshot() ?? db).query(sql, parameters);
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return result[0] as T[];
  }
  return result as T[];
}

const oneSnapshot = new AsyncLocalStorage<EntityManager>();

/**
 * The snapshot's transaction while it is open. A timer or callback created inside
 * inOneSnapshot keeps its async context after the transaction ended: it gets the pool again.
 */
function inSnapshot(): EntityManager | undefined {
  const manager = oneSnapshot.getStore();
  return manager && !manager.queryRunner?.isReleased ? manager : undefined;
}

/**
 * Runs `work` in one REPEATABLE READ transaction, and every queryRows inside it (in any
 * module: a sync reads conversations, messages and the log) on that transaction, so that all
 * of them see one snapshot, the one `pg_current_snapshot()` names there. For reads only.
 */
export function inOneSnapshot<T>(dataSource: DataSource, work: (db: Queryable) => Promise<T>): Promise<T> {
  return dataSource.transaction('REPEATABLE READ', (manager) => oneSnapshot.run(manager, () => work(manager)));
}

/**
 * Rows of a named statement, sent on the driver's pool without TypeORM's query
 * runner: PostgreSQL parses and plans it once per connection instead of once per
 * call. For the hottest statements only (a send); `name` must be unique per `text`.
 */
export async function preparedRows<T extends object>(
  dataSource: DataSource,
  name: string,
  text: string,
  values: unknown[],
): Promise<T[]> {
  const pool = (dataSource.driver as PostgresDriver).master as Pool;
  const result = await pool.query<T>({ name, text, values });
  return result.rows;
}

/** The driver error behind a failed statement, raw or wrapped by TypeORM. */
export function databaseError(error: unknown): { code?: string; constraint?: string } | undefined {
  if (error instanceof QueryFailedError) return error.driverError as { code?: string; constraint?: string };
  if (error instanceof DatabaseError) return error;
  return undefined;
}
