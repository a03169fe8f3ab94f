import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MetricsServer } from '../src/metrics/metrics-server.service';
import { spawnServer, waitHealthy } from './support/server-process';
import { startTestApp, type TestApp } from './support/test-app';

const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) };
const DOCUMENTS = ['/docs', '/docs-json', '/docs/asyncapi.json'];

/** The lines a process wrote, each parsed as JSON (a line that is not JSON fails the parse, and the test). */
function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('production mode: a wrong database stops the start fast, in JSON', () => {
  jest.setTimeout(60_000);
  let dataDir: string;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-production-'));
    chmodSync(dataDir, 0o755);
    // Compiles when the build is stale (a fresh checkout), so that the timed starts below do not.
    await spawnServer({ DATA_DIR: dataDir, PORT: 'abc' }, { expectFatal: true }).then((s) => s.exited);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses the embedded database in production with one JSON line naming DATABASE_URL', async () => {
    const server = await spawnServer({ ...PRODUCTION, DATA_DIR: dataDir, LOG_LEVEL: 'silent' }, { expectFatal: true });
    expect((await server.exited).code).toBe(1);
    const lines = jsonLines(server.output());
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 60, msg: expect.stringContaining('DATABASE_URL: required when NODE_ENV') });
  });

  it.each([
    ['a refused port', 'postgres://postgres@127.0.0.1:1/postgres', 'ECONNREFUSED'],
    ['an unknown database', 'postgres://postgres@127.0.0.1:5432/parley_no_such_database', 'database does not exist'],
    ['an unknown role', 'postgres://parley_no_such_role@127.0.0.1:5432/postgres', 'role or authorization rejected'],
    ['an unknown host', 'postgres://postgres:hunter2-secret@no-such-host.invalid:5432/parley', 'ENOTFOUND'],
  ])('exits 1 within 5 s on %s, with one JSON fatal line naming the cause', async (_case, url, reason) => {
    const started = Date.now();
    const server = await spawnServer({ ...PRODUCTION, DATABASE_URL: url, LOG_LEVEL: 'trace' }, { expectFatal: true });
    expect((await server.exited).code).toBe(1);
    expect(Date.now() - started).toBeLessThan(5_000); // the bound, process start included (about 0.6 s)
    const lines = jsonLines(server.output());
    const fatal = lines.filter((line) => line.level === 60);
    expect(fatal).toEqual([expect.objectContaining({ reason, msg: expect.stringContaining(reason) })]);
    expect(fatal[0].database).toBe(url.replace(/:[^:@/]+@/, '@').replace(/\?.*$/, ''));
    expect(fatal[0].ms).toBeLessThanOrEqual(4_000 + 500); // DATABASE_CONNECT_TIMEOUT_MS, and a last attempt's end
    // Nothing from Nest's coloured console logger, at the most verbose level, and no password.
    expect(server.output()).not.toMatch(/\u001b\[|\[Nest\]/);
    expect(server.output()).not.toContain('hunter2-secret');
  });

  it("writes only JSON lines, Nest's own included, from start to exit, at the most verbose level", async () => {
    const server = await spawnServer({ ...PRODUCTION, DATABASE_URL: process.env.DATABASE_URL!, LOG_LEVEL: 'trace' });
    await waitHealthy(server);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    const lines = jsonLines(server.output());
    expect(lines.filter((line) => line.context === 'RouterExplorer').length).toBeGreaterThan(10);
    expect(lines[lines.length - 1]).toMatchObject({ msg: 'stopped' });
    expect(server.output()).not.toMatch(/\u001b\[|\[Nest\]/);
  });

  it('gives up on an unreachable database after DATABASE_CONNECT_RETRIES attempts', async () => {
    const server = await spawnServer(
      {
        ...PRODUCTION,
        DATABASE_URL: 'postgres://postgres@127.0.0.1:1/postgres',
        DATABASE_CONNECT_RETRIES: '2',
        DATABASE_CONNECT_RETRY_DELAY_MS: '100',
        LOG_LEVEL: 'warn',
      },
      { expectFatal: true },
    );
    expect((await server.exited).code).toBe(1);
    expect(jsonLines(server.output())).toEqual([expect.objectContaining({ level: 60, attempts: 3 })]);
  });
});

describe('production mode: what stays internal', () => {
  const apps: TestApp[] = [];
  afterAll(() => Promise.all(apps.map((app) => app.close())));
  const start = async (env: Record<string, string>) => {
    const app = await startTestApp(env);
    apps.push(app);
    return app;
  };

  it('serves neither the API documents nor /metrics in production by default', async () => {
    const t = await start(PRODUCTION);
    // In JSON like every REST error (Express alone would answer an HTML page outside /api/v1).
    for (const path of [...DOCUMENTS, '/metrics', '/METRICS', '/metrics/', '/no-such-page', '/docs/swagger-ui.css']) {
      const res = await t.http.get(path);
      expect([path, res.status, res.body?.statusCode]).toEqual([path, 404, 404]);
    }
    expect((await t.http.get('/health')).status).toBe(200);
    expect((await t.http.get('/health/')).status).toBe(200); // a probe written with a trailing slash
  });

  it('serves the documents in production with DOCS_ENABLED=true, and hides them elsewhere with false', async () => {
    const shown = await start({ ...PRODUCTION, DOCS_ENABLED: 'true' });
    const hidden = await start({ DOCS_ENABLED: 'false' });
    for (const path of DOCUMENTS) {
      expect([path, (await shown.http.get(path)).status]).toEqual([path, 200]);
      expect([path, (await hidden.http.get(path)).status]).toEqual([path, 404]);
    }
  });

  it('serves /metrics on the API port only with METRICS_TOKEN as a bearer token', async () => {
    const token = 'scrape-token-0123456789';
    const t = await start({ ...PRODUCTION, METRICS_TOKEN: token });
    const without = await t.http.get('/metrics');
    expect([without.status, without.headers.get('www-authenticate'), without.body.error]).toEqual([
      401,
      'Bearer',
      'Unauthorized',
    ]);
    expect((await t.http.get('/metrics', { token: `${token}x` })).status).toBe(401);
    const scraped = await t.http.get('/metrics', { token });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toMatch(/^database_pool_size 5$/m);
  });

  it('serves /metrics on METRICS_PORT only, and not on the API port', async () => {
    const t = await start({ METRICS_PORT: '0' });
    const port = t.app.get(MetricsServer).port!;
    expect(port).toBeGreaterThan(0);
    expect((await t.http.get('/metrics')).status).toBe(404);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/^event_bus_publish_failures_total|^database_pool_idle \d+$/m);
    const other = await fetch(`http://127.0.0.1:${port}/api/v1/users/me`);
    expect([other.status, ((await other.json()) as { statusCode: number }).statusCode]).toEqual([404, 404]);
  });
});
