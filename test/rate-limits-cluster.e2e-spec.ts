import { randomBytes } from 'node:crypto';
import { EventBus } from '../src/events/event-bus';
import type { RedisEventBus } from '../src/events/redis-event-bus';
import { SharedThrottlerStorage } from '../src/rate-limit/shared-throttler.storage';
import { openDirect, registerUser, uniqueUsername, type RegisteredUser } from './support/factories';
import { OwnRedis } from './support/redis';
import { startTestApp, type TestApp } from './support/test-app';
import { connect, type TestSocket } from './support/ws-client';

const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
const canRunRedis = process.env.PARLEY_TEST_REDIS_SERVER === '1';
if (!redisUrl) console.log('cluster rate-limit tests skipped: no Redis answers at REDIS_URL or redis://127.0.0.1:6379');
if (!canRunRedis) console.log('rate limits during a Redis outage skipped: no redis-server binary to start and kill');

/**
 * Two instances on one PostgreSQL and one Redis, as behind a load balancer. Each pair has
 * a REDIS_PREFIX of its own, so that counts of other tests (all from 127.0.0.1) never mix in.
 */
async function startPair(url: string, settings: Record<string, string> = {}): Promise<[TestApp, TestApp]> {
  const env = { REDIS_URL: url, REDIS_PREFIX: `t${randomBytes(4).toString('hex')}:`, ...settings };
  const pair = await Promise.all([startTestApp(env), startTestApp(env)]);
  await Promise.all(pair.map((app) => (app.app.get(EventBus) as RedisEventBus).whenSubscribed()));
  return pair as [TestApp, TestApp];
}

const login = (app: TestApp, username: string, password: string) =>
  app.http.post('/api/v1/auth/login', { username, password });

async function metric(app: TestApp, line: RegExp): Promise<number> {
  const text = (await app.http.get('/metrics')).text;
  return Number(line.exec(text)?.[1] ?? 0);
}

(redisUrl ? describe : describe.skip)('rate limits of two instances sharing Redis (docs/protocol.md §4)', () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    [a, b] = await startPair(redisUrl!, { RATE_LOGIN_FAILS: '10', RATE_SEND_PER_SEC: '20', RATE_REST_PER_MIN: '600' });
  });
  afterAll(() => Promise.all([a?.close(), b?.close()]));

  it('gives 429 from the 11th failed login of one username overall, spread over both instances', async () => {
    const user = await registerUser(a.http);
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await login(i % 2 ? b : a, user.username, 'wrong-password')).status);
    expect(statuses).toEqual(Array(10).fill(401));
    for (const app of [a, b]) {
      const refused = await login(app, user.username, user.password);
      expect(refused.status).toBe(429);
      expect(refused.body.message).toBe('Too many failed logins, retry later');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Case folding does not open a second budget.
    expect((await login(b, user.username.toUpperCase(), user.password)).status).toBe(429);
    expect(await metric(a, /^rate_limited_total\{policy="login"\} (\d+)$/m)).toBeGreaterThanOrEqual(1);
  });

  it('counts parallel guesses on both instances before checking them: exactly the budget gets through', async () => {
    const user = await registerUser(a.http);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => login(i % 2 ? b : a, user.username, 'guess-guess')),
    );
    expect(results.filter((r) => r.status === 401)).toHaveLength(10);
    expect(results.filter((r) => r.status === 429)).toHaveLength(20);
  });

  it('forgives the count after a success, wherever the failures were', async () => {
    const user = await registerUser(a.http);
    for (let i = 0; i < 9; i++) expect((await login(i % 2 ? b : a, user.username, 'wrong-password')).status).toBe(401);
    expect((await login(b, user.username, user.password)).status).toBe(200);
    for (let i = 0; i < 10; i++) expect((await login(i % 2 ? a : b, user.username, 'wrong-password')).status).toBe(401);
    expect((await login(a, user.username, user.password)).status).toBe(429);
  });

  it('accepts one user’s concurrent sends over both instances, REST and socket together, at RATE_SEND_PER_SEC', async () => {
    const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
    const id = await openDirect(a.http, alice, bob);
    const sockets = await Promise.all([connect(a.baseUrl, alice.accessToken), connect(b.baseUrl, alice.accessToken)]);
    try {
      const perPath = 30;
      const started = Date.now();
      const rest = [a, b].flatMap((app, n) =>
        Array.from({ length: perPath }, (_, i) =>
          app.http.post(
            `/api/v1/conversations/${id}/messages`,
            { content: `rest ${n}-${i}`, clientMessageId: `rest-${n}-${i}` },
            { token: alice.accessToken },
          ),
        ),
      );
      const answers = sockets.map((socket, n) => {
        for (let i = 0; i < perPath; i++)
          socket.send('message.send', { conversationId: id, content: `ws ${n}-${i}`, clientMessageId: `ws-${n}-${i}` });
        return collectAnswers(socket, perPath);
      });
      const restStatuses = (await Promise.all(rest)).map((r) => r.status);
      const socketAnswers = (await Promise.all(answers)).flat();
      const elapsedMs = Date.now() - started;

      expect(new Set(restStatuses)).toEqual(new Set([201, 429]));
      expect(new Set(socketAnswers)).toEqual(new Set(['message.ack', 'rate_limited']));
      const accepted =
        restStatuses.filter((s) => s === 201).length + socketAnswers.filter((e) => e === 'message.ack').length;
      // Fixed windows: the limit per window, so at most one window's burst more across a boundary.
      expect(accepted).toBeGreaterThanOrEqual(20);
      expect(accepted).toBeLessThanOrEqual(20 * Math.ceil(elapsedMs / 1000) + 20);
      const [{ n }] = await a.dataSource.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [
        id,
      ]);
      expect(n).toBe(accepted);
      // Refused sockets stay open.
      await Promise.all(sockets.map((socket) => socket.barrier()));
    } finally {
      await Promise.all(sockets.map((socket) => socket.close()));
    }
  });

  it('holds the general REST limit per user across instances, with headers that say so', async () => {
    const [x, y] = await startPair(redisUrl!, { RATE_REST_PER_MIN: '6' });
    try {
      const user = await registerUser(x.http);
      const seen: { status: number; remaining: string | null }[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await (i % 2 ? y : x).http.get('/api/v1/users/me', { token: user.accessToken });
        seen.push({ status: res.status, remaining: res.headers.get('x-ratelimit-remaining') });
        expect(res.headers.get('x-ratelimit-limit')).toBe('6');
      }
      expect(seen).toEqual([5, 4, 3, 2, 1, 0].map((left) => ({ status: 200, remaining: String(left) })));
      for (const app of [x, y]) {
        const refused = await app.http.get('/api/v1/users/me', { token: user.accessToken });
        expect(refused.status).toBe(429);
        expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect(Number(refused.headers.get('x-ratelimit-reset'))).toBeLessThanOrEqual(60);
      }
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });

  it('limits registrations per IP across instances', async () => {
    const [x, y] = await startPair(redisUrl!, { RATE_REGISTER_PER_MIN: '4' });
    try {
      const register = (app: TestApp) =>
        app.http.post('/api/v1/auth/register', { username: uniqueUsername(), password: 'password-1234' });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await register(i % 2 ? y : x)).status);
      expect(statuses).toEqual([201, 201, 201, 201]);
      expect((await register(x)).status).toBe(429);
      expect((await register(y)).status).toBe(429);
    } finally {
      await Promise.all([x.close(), y.close()]);
    }
  });
});

/** Reads `count` answers to message.send from a socket: the ack, or the error's code. */
async function collectAnswers(socket: TestSocket, count: number): Promise<string[]> {
  const answers: string[] = [];
  while (answers.length < count) {
    const frame = await socket.next(undefined, () => true);
    if (frame.event === 'message.ack') answers.push('message.ack');
    else if (frame.event === 'error') answers.push(frame.data.code as string);
  }
  return answers;
}

(redisUrl && canRunRedis ? describe : describe.skip)('rate limits while Redis is away', () => {
  it('fall back to each instance alone without a 500, and are shared again when Redis is back', async () => {
    const redis = await OwnRedis.start();
    const [a, b] = await startPair(redis.url, { RATE_LOGIN_FAILS: '4' });
    try {
      const failures = async (app: TestApp, user: RegisteredUser, count: number) => {
        const statuses: number[] = [];
        for (let i = 0; i < count; i++) statuses.push((await login(app, user.username, 'wrong-password')).status);
        return statuses;
      };
      const [one, two, three] = await Promise.all([0, 1, 2].map(() => registerUser(a.http)));

      // Shared: 2 + 2 failures over both instances use up the budget of 4.
      expect([...(await failures(a, one, 2)), ...(await failures(b, one, 2))]).toEqual([401, 401, 401, 401]);
      expect((await login(a, one.username, one.password)).status).toBe(429);

      // Stalled: the call that waits for Redis gives up after REDIS_LIMIT_TIMEOUT_MS and is counted here.
      redis.pause();
      expect(await failures(a, two, 1)).toEqual([401]);
      expect(await metric(a, /^rate_limit_shared (\d)$/m)).toBe(0);

      // Gone: each instance counts alone, so each allows the budget once.
      await redis.kill();
      expect(await failures(a, two, 3)).toEqual([401, 401, 401]);
      expect((await login(a, two.username, two.password)).status).toBe(429);
      expect(await failures(b, two, 4)).toEqual([401, 401, 401, 401]);
      expect((await login(b, two.username, two.password)).status).toBe(429);
      expect(await metric(b, /^rate_limit_local_total (\d+)$/m)).toBeGreaterThanOrEqual(5);
      const warnings = a.logs.filter((l) => /counted by each instance alone/.test(l.msg as string));
      expect(warnings.length).toBe(2); // one per instance for the whole outage

      // Back: shared again.
      await redis.start();
      await Promise.all([a, b].map((app) => app.app.get(SharedThrottlerStorage).connected()));
      expect([...(await failures(b, three, 2)), ...(await failures(a, three, 2))]).toEqual([401, 401, 401, 401]);
      expect((await login(b, three.username, three.password)).status).toBe(429);
      for (const app of [a, b]) expect(await metric(app, /^rate_limit_shared (\d)$/m)).toBe(1);
    } finally {
      redis.resume();
      await Promise.all([a.close(), b.close()]);
      await redis.kill();
    }
  });
});
