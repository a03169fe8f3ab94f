import { Client } from 'pg';

/**
 * Counts the SQL statements the app sends while `fn` runs (BEGIN/COMMIT included),
 * at the driver: statements TypeORM runs and the named ones sent straight to the
 * pool (see preparedRows) alike.
 */
export async function countQueries<T>(fn: () => Promise<T>): Promise<{ result: T; count: number; queries: string[] }> {
  const original = Client.prototype.query;
  const queries: string[] = [];
  Client.prototype.query = function (this: Client, ...args: unknown[]) {
    const [config] = args;
    const text = typeof config === 'string' ? config : (config as { text?: string }).text;
    queries.push(String(text).replace(/\s+/g, ' ').trim());
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof Client.prototype.query;
  try {
    const result = await fn();
    return { result, count: queries.length, queries };
  } finally {
    Client.prototype.query = original;
  }
}
