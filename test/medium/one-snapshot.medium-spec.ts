import { inOneSnapshot, queryRows } from '../../src/database/sql';
import { startServiceContext, type ServiceContext } from '../support/service-context';

/** inOneSnapshot: every queryRows inside it reads one snapshot; nothing leaks out of it. */
describe('inOneSnapshot (medium: real PostgreSQL)', () => {
  let ctx: ServiceContext;
  beforeAll(async () => {
    ctx = await startServiceContext();
  });
  afterAll(() => ctx.close());

  it('runs every queryRows inside it, made on any handle, in one REPEATABLE READ snapshot', async () => {
    const user = await ctx.user();
    const renamed = `Renamed ${Date.now()}`;
    const seen = await inOneSnapshot(ctx.dataSource, async () => {
      const name = () =>
        queryRows<{ display_name: string }>(ctx.dataSource, 'SELECT display_name FROM users WHERE id = $1', [user]);
      const before = await name();
      // Committed by another connection meanwhile: invisible to the snapshot.
      const other = ctx.dataSource.createQueryRunner();
      await other.connect();
      await other.query('UPDATE users SET display_name = $2 WHERE id = $1', [user, renamed]);
      await other.release();
      return [before[0].display_name, (await name())[0].display_name];
    });
    expect(seen[0]).toBe(seen[1]);
    expect(seen[1]).not.toBe(renamed);
  });

  it('gives the pool back to work that outlives the snapshot (a continuation made inside it)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let later!: Promise<{ one: number }[]>;
    await inOneSnapshot(ctx.dataSource, async () => {
      later = gate.then(() => queryRows<{ one: number }>(ctx.dataSource, 'SELECT 1 AS one'));
    });
    release();
    expect(await later).toEqual([{ one: 1 }]);
  });
});
