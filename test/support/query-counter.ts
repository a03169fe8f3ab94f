import type { DataSource } from 'typeorm';

/** Counts the SQL statements the app sends while `fn` runs (BEGIN/COMMIT included). */
export async function countQueries<T>(
  dataSource: DataSource,
  fn: () => Promise<T>,
): Promise<{ result: T; count: number; queries: string[] }> {
  const logger = dataSource.logger;
  const original = logger.logQuery.bind(logger);
  const queries: string[] = [];
  logger.logQuery = (query, parameters, runner) => {
    queries.push(query.replace(/\s+/g, ' ').trim());
    return original(query, parameters, runner);
  };
  try {
    const result = await fn();
    return { result, count: queries.length, queries };
  } finally {
    logger.logQuery = original;
  }
}
