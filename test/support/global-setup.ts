/**
 * A fresh database per test run: on DATABASE_URL's server when set (CI), else on
 * an embedded PostgreSQL in a temporary folder. Tests read the new URL from
 * DATABASE_URL; each test app runs the migrations on start (under a lock).
 * And a current client build (client/dist: the demo page at /demo, the browser bundle), made
 * here once for every suite, and only when a client source is newer than the last build.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { buildClient, clientBuildIsStale } from '../../scripts/lib/client-build';
import { EmbeddedDatabase } from '../../src/database/embedded-postgres';
import { availableRedisUrl, canRunRedisServer } from './redis';

export interface TestDatabaseState {
  serverUrl: string;
  database: string;
  embedded?: EmbeddedDatabase;
  dataDir?: string;
}

const STALE_AFTER_MS = 3_600_000;
const TEMP_PREFIX = 'parley-test-';

export default async function globalSetup(): Promise<void> {
  if (clientBuildIsStale() && buildClient() !== 0) throw new Error('npm run build:client failed (messages above)');
  let serverUrl = process.env.DATABASE_URL;
  let embedded: EmbeddedDatabase | undefined;
  let dataDir: string | undefined;
  await removeOrphanedClusters();
  if (!serverUrl) {
    dataDir = mkdtempSync(join(tmpdir(), TEMP_PREFIX));
    embedded = new EmbeddedDatabase({ dataDir, port: 0, database: 'postgres', log: () => undefined });
    serverUrl = await embedded.start();
  }
  const database = `parley_test_${Date.now()}_${process.pid}`;
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  try {
    await dropStaleTestDatabases(admin);
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(database)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  process.env.DATABASE_URL = url.toString();
  // Scale-out suites read these at definition time to decide, with a printed reason, whether to run.
  process.env.PARLEY_TEST_REDIS_URL = (await availableRedisUrl()) ?? '';
  process.env.PARLEY_TEST_REDIS_SERVER = (await canRunRedisServer()) ? '1' : '';
  (globalThis as { __parleyTestDb?: TestDatabaseState }).__parleyTestDb = { serverUrl, database, embedded, dataDir };
}

/** Embedded clusters of earlier runs killed before their teardown: stopped and removed. */
async function removeOrphanedClusters(): Promise<void> {
  for (const name of readdirSync(tmpdir()).filter((n) => n.startsWith(TEMP_PREFIX))) {
    const dir = join(tmpdir(), name);
    const orphaned = await EmbeddedDatabase.stopOrphaned(dir, 600_000, () => undefined).catch(() => false);
    if (orphaned) cleanupDirectory(dir);
  }
}

/** Databases of earlier runs that died before their teardown. */
async function dropStaleTestDatabases(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ datname: string }>(
    "SELECT datname FROM pg_database WHERE datname LIKE 'parley\\_test\\_%'",
  );
  for (const { datname } of rows) {
    const created = Number(datname.split('_')[2]);
    if (Number.isFinite(created) && Date.now() - created > STALE_AFTER_MS) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`);
    }
  }
}

export function cleanupDirectory(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
