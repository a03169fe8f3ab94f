import { Client } from 'pg';
import { cleanupDirectory, type TestDatabaseState } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as { __parleyTestDb?: TestDatabaseState }).__parleyTestDb;
  if (!state) return;
  const admin = new Client({ connectionString: state.serverUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(state.database)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  await state.embedded?.stop();
  cleanupDirectory(state.dataDir);
}
