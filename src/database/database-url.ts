import type { AppConfig } from '../config/app.config';
import type { DatabaseConfig } from './database.config';
import { waitForDatabase } from './database-probe';
import { EmbeddedDatabase } from './embedded-postgres';

export interface ResolvedDatabase {
  url: string;
  /** Set when this process started the embedded cluster and must stop it. */
  embedded?: EmbeddedDatabase;
}

/** DATABASE_URL when set (once it answers), else the embedded PostgreSQL under DATA_DIR. */
export async function resolveDatabase(
  env: Pick<
    DatabaseConfig,
    | 'DATABASE_URL'
    | 'EMBEDDED_PG_PORT'
    | 'DATABASE_CONNECT_TIMEOUT_MS'
    | 'DATABASE_CONNECT_RETRIES'
    | 'DATABASE_CONNECT_RETRY_DELAY_MS'
  > &
    Pick<AppConfig, 'DATA_DIR'>,
  log: (level: 'debug' | 'warn', message: string) => void,
): Promise<ResolvedDatabase> {
  if (env.DATABASE_URL) {
    // debug: a start that gives up says it all in its one fatal line (attempts included).
    await waitForDatabase(env.DATABASE_URL, env, (attempt, cause) =>
      log('debug', `database not reachable yet (${cause}), attempt ${attempt}; retrying`),
    );
    return { url: env.DATABASE_URL };
  }
  const embedded = new EmbeddedDatabase({ dataDir: env.DATA_DIR, port: env.EMBEDDED_PG_PORT, database: 'parley', log });
  return { url: await embedded.start(), embedded };
}
