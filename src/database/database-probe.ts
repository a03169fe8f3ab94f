import { Client } from 'pg';
import type { DatabaseConfig } from './database.config';
import { isDatabaseUnavailable } from './database-errors';

/** Why a start gave up on the database: what the operator reads in the one fatal line. */
export class DatabaseUnreachableError extends Error {
  constructor(
    readonly reason: string,
    readonly database: string,
    readonly attempts: number,
    readonly elapsedMs: number,
    detail: string,
  ) {
    super(`database unavailable (${reason}) at ${database} after ${attempts} attempt(s) in ${elapsedMs} ms: ${detail}`);
    this.name = 'DatabaseUnreachableError';
  }
}

type ProbeSettings = Pick<
  DatabaseConfig,
  'DATABASE_CONNECT_TIMEOUT_MS' | 'DATABASE_CONNECT_RETRIES' | 'DATABASE_CONNECT_RETRY_DELAY_MS'
>;

/** The URL as it may be logged: no password, no query (which may carry one). */
export function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const user = parsed.username ? `${decodeURIComponent(parsed.username)}@` : '';
    return `postgres://${user}${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparsable DATABASE_URL)';
  }
}

/**
 * Connects once to DATABASE_URL before the app is built, so that a wrong URL stops the
 * start within DATABASE_CONNECT_TIMEOUT_MS with a cause, instead of the pool's silent
 * retries. Outages (refused, timeouts, DNS, "starting up") are retried within the time;
 * everything else (bad password, unknown role or database, TLS refused) at once.
 */
export async function waitForDatabase(
  url: string,
  settings: ProbeSettings,
  onRetry: (attempt: number, cause: string) => void = () => undefined,
): Promise<void> {
  const started = Date.now();
  const deadline = started + settings.DATABASE_CONNECT_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    // Each attempt gets its share of the time left, so that a host that does not answer is
    // tried again rather than waited for once.
    const attemptsLeft = settings.DATABASE_CONNECT_RETRIES - attempt + 2;
    const share = Math.max(1, Math.floor((deadline - Date.now()) / attemptsLeft));
    const client = new Client({ connectionString: url, connectionTimeoutMillis: share });
    // A server that drops us after the handshake would otherwise emit an unhandled 'error'.
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      const cause = causeOf(error);
      const retry = isDatabaseUnavailable(error) && attempt <= settings.DATABASE_CONNECT_RETRIES;
      const wait = settings.DATABASE_CONNECT_RETRY_DELAY_MS;
      if (!retry || Date.now() + wait >= deadline) {
        throw new DatabaseUnreachableError(
          cause,
          describeDatabaseUrl(url),
          attempt,
          Date.now() - started,
          (error as Error).message,
        );
      }
      onRetry(attempt, cause);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/** A short name for the failure: the system error or SQLSTATE code, else the message's gist. */
function causeOf(error: unknown): string {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return SQLSTATE_NAMES[code] ?? code;
  if (typeof message === 'string' && /timeout/i.test(message)) return 'timeout';
  if (typeof message === 'string' && /terminated/i.test(message)) return 'connection terminated';
  return 'error';
}

const SQLSTATE_NAMES: Record<string, string> = {
  '28P01': 'password authentication failed',
  '28000': 'role or authorization rejected',
  '3D000': 'database does not exist',
  '57P03': 'database starting up',
  '53300': 'too many connections',
};
