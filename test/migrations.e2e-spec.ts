import { Client } from 'pg';
import { createDataSource } from '../ormconfig';
import { runMigrationsLocked } from '../src/database/database.module';

/** On a database of its own, so that reverting does not disturb the other suites. */
describe('migrations', () => {
  const base = new URL(process.env.DATABASE_URL!);
  const name = `${base.pathname.slice(1)}_mig`;
  const url = Object.assign(new URL(base.toString()), { pathname: `/${name}` }).toString();
  let admin: Client;

  beforeAll(async () => {
    admin = new Client({ connectionString: base.toString() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  });
  afterAll(async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.end();
  });

  it('apply, match the entities exactly (nothing to generate), revert and apply again', async () => {
    const dataSource = await createDataSource(url, 2).initialize();
    try {
      const applied = await runMigrationsLocked(dataSource);
      expect(applied.length).toBeGreaterThan(0);
      expect(await runMigrationsLocked(dataSource)).toEqual([]);

      const { upQueries } = await dataSource.driver.createSchemaBuilder().log();
      expect(upQueries.map((q) => q.query)).toEqual([]);

      for (let i = 0; i < applied.length; i++) await dataSource.undoLastMigration();
      const tables = await dataSource.query(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'",
      );
      expect(tables).toEqual([]);

      expect(await runMigrationsLocked(dataSource)).toEqual(applied);
    } finally {
      await dataSource.destroy();
    }
  });

  it('lets concurrent starts take turns instead of applying twice', async () => {
    const sources = await Promise.all([createDataSource(url, 2).initialize(), createDataSource(url, 2).initialize()]);
    try {
      // Reset to nothing, then race two instances.
      while ((await sources[0].query('SELECT count(*)::int AS n FROM migrations'))[0].n > 0)
        await sources[0].undoLastMigration();
      const [a, b] = await Promise.all(sources.map((s) => runMigrationsLocked(s)));
      expect([...a, ...b].sort()).toEqual((a.length ? a : b).sort());
      expect(Math.min(a.length, b.length)).toBe(0);
    } finally {
      await Promise.all(sources.map((s) => s.destroy()));
    }
  });
});
