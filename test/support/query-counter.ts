import { Client } from 'pg';

/**
 * The log follower's reads (realtime/log-follower.service.ts), made every LOG_FOLLOW_MS
 * whatever the requests: not a request's cost. No request runs them.
 */
const BACKGROUND = [
  /^SELECT pg_current_snapshot\(\)::text AS snapshot, clock_timestamp\(\) AS at$/,
  /^SELECT .* FROM change_log ch WHERE ch\.at >= /,
];

/**
 * Counts the SQL statements the app sends while `fn` runs (BEGIN/COMMIT included),
 * at the driver: statements TypeORM runs and the named ones sent straight to the
 * pool (see preparedRows) alike, less the log follower's background reads.
 */
export async function countQueries<T>(fn: () => Promise<T>): Promise<{ result: T; count: number; queries: string[] }> {
  const original = Client.prototype.query;
  const queries: string[] = [];
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const [config] = args;
    const text = typeof config === 'string' ? config : (config as { text?: string }).text;
    const statement = String(text).replace(/\s+/g, ' ').trim();
    if (!BACKGROUND.some((pattern) => pattern.test(statement))) queries.push(statement);
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  try {
    const result = await fn();
    return { result, count: queries.length, queries };
  } finally {
    Client.prototype.query = original;
  }
}
