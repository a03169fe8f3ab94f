import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EmbeddedDatabase } from '../src/database/embedded-postgres';
import { spawnServer, waitHealthy } from './support/server-process';

/**
 * The real `npm start` entry as a separate process: configuration errors, the
 * embedded PostgreSQL default, graceful shutdown, and recovery after a SIGKILL.
 */
describe('server process lifecycle', () => {
  jest.setTimeout(120_000);
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-lifecycle-'));
    chmodSync(dataDir, 0o755);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses to start with an invalid variable, naming it', async () => {
    const server = await spawnServer({ DATA_DIR: dataDir, PORT: 'abc' }, { expectFatal: true });
    expect((await server.exited).code).toBe(1);
    expect(JSON.parse(server.output())).toMatchObject({
      level: 60,
      msg: expect.stringMatching(/^Invalid configuration: PORT: /),
    });
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const server = await spawnServer({ DATA_DIR: dataDir, NODE_ENV: 'production' }, { expectFatal: true });
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toContain('JWT_SECRET: required when NODE_ENV=production');
  });

  it('refuses the embedded PostgreSQL in production unless asked for, naming DATABASE_URL', async () => {
    const production = { DATA_DIR: dataDir, NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) };
    const server = await spawnServer(production, { expectFatal: true });
    expect((await server.exited).code).toBe(1);
    expect(server.output()).toContain('DATABASE_URL: required when NODE_ENV=production');
    expect(server.output()).toContain('EMBEDDED_PG_IN_PRODUCTION=true');

    const asked = await spawnServer({ ...production, EMBEDDED_PG_IN_PRODUCTION: 'true' });
    try {
      await waitHealthy(asked);
    } finally {
      asked.child.kill('SIGTERM');
      expect((await asked.exited).code).toBe(0);
    }
  });

  it('serves on the embedded PostgreSQL, finishes an in-flight request on SIGTERM, exits 0', async () => {
    const server = await spawnServer({ DATA_DIR: dataDir, LOG_LEVEL: 'info' });
    await waitHealthy(server);

    // `Expect: 100-continue`: the server answers 100 only once it has parsed the
    // request, so the body is sent after SIGTERM to a request surely in flight.
    const body = JSON.stringify({ username: `life${Date.now().toString(36)}`, password: 'password-1234' });
    const inFlight = request({
      host: '127.0.0.1',
      port: server.port,
      method: 'POST',
      path: '/api/v1/auth/register',
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        expect: '100-continue',
      },
    });
    const answered = once(inFlight, 'response');
    inFlight.flushHeaders();
    await once(inFlight, 'continue');
    server.child.kill('SIGTERM');
    await server.waitForOutput(/shutting down/);
    inFlight.end(body);
    const [response] = (await answered) as [IncomingMessage];
    expect(response.statusCode).toBe(201);
    response.resume();

    expect(await server.exited).toEqual({ code: 0, signal: null });
    expect(postmasterRunning(dataDir)).toBe(false);
  });

  it('drains on SIGTERM: answers requests written just before it and during the drain, fails readiness, exits 0', async () => {
    const server = await spawnServer({
      DATA_DIR: dataDir,
      SHUTDOWN_DRAIN_MS: '1500',
      LOG_LEVEL: 'info',
      RATE_SEND_PER_SEC: '1000',
    });
    await waitHealthy(server);
    const base = `http://127.0.0.1:${server.port}`;
    const registered = await fetch(`${base}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: `drain${Date.now().toString(36)}`, password: 'password-1234' }),
    }).then((r) => r.json() as Promise<{ accessToken: string }>);
    const token = registered.accessToken;
    const group = await fetch(`${base}/api/v1/conversations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ type: 'group', title: 'drain', participantIds: [] }),
    }).then((r) => r.json() as Promise<{ id: string }>);

    // Twenty keep-alive connections, used once and idle now, as a balancer's upstream pool keeps them.
    const agent = new Agent({ keepAlive: true, maxSockets: 20 });
    const call = (method: string, path: string, body?: object) =>
      new Promise<{ status: number; body: any }>((resolve, reject) => {
        const text = body && JSON.stringify(body);
        const req = request(`${base}${path}`, {
          method,
          agent,
          headers: { authorization: `Bearer ${token}`, ...(text && { 'content-type': 'application/json' }) },
        });
        req.on('error', reject);
        req.on('response', (res) => {
          let data = '';
          res.on('data', (chunk) => (data += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: data && JSON.parse(data) }));
        });
        req.end(text);
      });
    const send = (i: number) => call('POST', `/api/v1/conversations/${group.id}/messages`, { content: `m${i}` });
    await Promise.all(Array.from({ length: 20 }, () => call('GET', '/health/live')));
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(20);

    // Twenty sends written in full on those connections, then the signal at once.
    const beforeSignal = Array.from({ length: 20 }, (_, i) => send(i));
    server.child.kill('SIGTERM');
    await server.waitForOutput(/draining/);
    const duringDrain = await Promise.all([send(100), call('GET', '/health')]);
    const answered = await Promise.all(beforeSignal);
    expect(answered.map((a) => a.status)).toEqual(Array(20).fill(201));
    expect(duringDrain[0].status).toBe(201);
    expect(duringDrain[1]).toMatchObject({ status: 503, body: { error: { shutdown: { status: 'down' } } } });
    expect(new Set([...answered, duringDrain[0]].map((a) => a.body.seq)).size).toBe(21);
    expect(await server.exited).toEqual({ code: 0, signal: null });
    agent.destroy();
  });

  it('restarts on the same data after a SIGKILL left the postmaster running', async () => {
    const first = await spawnServer({ DATA_DIR: dataDir });
    await waitHealthy(first);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(postmasterRunning(dataDir)).toBe(true);

    const second = await spawnServer({ DATA_DIR: dataDir });
    await waitHealthy(second);
    const users = await fetch(`http://127.0.0.1:${second.port}/api/v1/users/me`);
    expect(users.status).toBe(401);
    second.child.kill('SIGTERM');
    expect((await second.exited).code).toBe(0);
    expect(postmasterRunning(dataDir)).toBe(false);
  });

  it('stops the cluster of a killed owner, and leaves a running one alone (orphan cleanup)', async () => {
    const server = await spawnServer({ DATA_DIR: dataDir });
    await waitHealthy(server);
    expect(await EmbeddedDatabase.stopOrphaned(dataDir, 0, () => undefined)).toBe(false);
    expect(postmasterRunning(dataDir)).toBe(true);

    server.child.kill('SIGKILL');
    await server.exited;
    expect(await EmbeddedDatabase.stopOrphaned(dataDir, 0, () => undefined)).toBe(true);
    expect(postmasterRunning(dataDir)).toBe(false);
  });
});

function postmasterRunning(dataDir: string): boolean {
  try {
    execFileSync('pgrep', ['-f', `postgres -D ${join(dataDir, 'pg')}`]);
    return true;
  } catch {
    return false;
  }
}
