import { Clock } from '../src/common/clock';
import { openDirect, registerUser, uniqueUsername } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { connect } from './support/ws-client';

describe('REST rate limits (docs/protocol.md §4)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_REGISTER_PER_MIN: '3', RATE_LOGIN_FAILS: '3', RATE_REST_PER_MIN: '5' });
  });
  afterAll(() => t.close());

  function expectRateLimited(res: { status: number; headers: Headers; body: any }) {
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
  }

  it('limits registrations per IP, with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await t.http.post('/api/v1/auth/register', { username: uniqueUsername(), password: 'password-1234' })).status,
      );
    }
    expect(statuses).toEqual([201, 201, 201]);
    const fourth = await t.http.post('/api/v1/auth/register', {
      username: uniqueUsername(),
      password: 'password-1234',
    });
    expectRateLimited(fourth);
    // Bad input counts too: a flood of junk is limited as well.
    expect((await t.http.post('/api/v1/auth/register', {})).status).toBe(429);
  });

  it('does not count successful logins as failures, and a success clears the count', async () => {
    const app = await startTestApp({ RATE_LOGIN_FAILS: '3' });
    try {
      const user = await registerUser(app.http);
      const attempt = (password: string) => app.http.post('/api/v1/auth/login', { username: user.username, password });
      for (let i = 0; i < 5; i++) expect((await attempt(user.password)).status).toBe(200);
      expect((await attempt('wrong-password')).status).toBe(401);
      expect((await attempt('wrong-password')).status).toBe(401);
      expect((await attempt(user.password)).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await attempt('wrong-password')).status).toBe(401);
      expect((await attempt(user.password)).status).toBe(429);
    } finally {
      await app.close();
    }
  });

  it('counts parallel wrong guesses before checking them: no more than the limit get through', async () => {
    const app = await startTestApp({ RATE_LOGIN_FAILS: '3' });
    try {
      const user = await registerUser(app.http);
      const results = await Promise.all(
        Array.from({ length: 12 }, () =>
          app.http.post('/api/v1/auth/login', { username: user.username, password: 'guess-guess' }),
        ),
      );
      expect(results.filter((r) => r.status === 401)).toHaveLength(3);
      expect(results.filter((r) => r.status === 429)).toHaveLength(9);
    } finally {
      await app.close();
    }
  });

  describe('with registrations allowed', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ RATE_LOGIN_FAILS: '3', RATE_REST_PER_MIN: '5' });
    });
    afterAll(() => app.close());

    it('limits failed logins per username and IP, even with the right password afterwards', async () => {
      const user = await registerUser(app.http);
      for (let i = 0; i < 3; i++) {
        expect(
          (await app.http.post('/api/v1/auth/login', { username: user.username, password: 'wrong-password' })).status,
        ).toBe(401);
      }
      expectRateLimited(
        await app.http.post('/api/v1/auth/login', { username: user.username, password: user.password }),
      );
      // Another username from the same IP is not affected.
      const other = await registerUser(app.http);
      expect(
        (await app.http.post('/api/v1/auth/login', { username: other.username, password: other.password })).status,
      ).toBe(200);
    });

    it('limits other calls per user, each user with its own budget', async () => {
      const alice = await registerUser(app.http);
      const bob = await registerUser(app.http);
      for (let i = 0; i < 5; i++)
        expect((await app.http.get('/api/v1/users/me', { token: alice.accessToken })).status).toBe(200);
      expectRateLimited(await app.http.get('/api/v1/users/me', { token: alice.accessToken }));
      expect((await app.http.get('/api/v1/users/me', { token: bob.accessToken })).status).toBe(200);
    });

    it('never limits health and metrics', async () => {
      for (let i = 0; i < 8; i++) {
        expect((await app.http.get('/health/live')).status).toBe(200);
        expect((await app.http.get('/metrics')).status).toBe(200);
      }
    });
  });

  it('limits message sends per user (RATE_SEND_PER_SEC), apart from the general REST limit', async () => {
    const app = await startTestApp({ RATE_SEND_PER_SEC: '3', RATE_REST_PER_MIN: '1000' });
    try {
      const [a, b] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
      const id = await openDirect(app.http, a, b);
      const send = (who: typeof a) =>
        app.http.post(`/api/v1/conversations/${id}/messages`, { content: 'hi' }, { token: who.accessToken });
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await send(a)).status);
      expect(statuses).toEqual([201, 201, 201]);
      const limited = await send(a);
      expectRateLimited(limited);
      expect((await send(b)).status).toBe(201);
      const [{ n }] = await app.dataSource.query('SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1', [
        id,
      ]);
      expect(n).toBe(4);
    } finally {
      await app.close();
    }
  });

  it('shares one send budget between REST and the socket; the socket gets rate_limited and stays open', async () => {
    const app = await startTestApp({ RATE_SEND_PER_SEC: '3' });
    try {
      const [a, b] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
      const id = await openDirect(app.http, a, b);
      const socket = await connect(app.baseUrl, a.accessToken);
      const rest = await app.http.post(
        `/api/v1/conversations/${id}/messages`,
        { content: 'one' },
        { token: a.accessToken },
      );
      expect(rest.status).toBe(201);
      expect([rest.headers.get('x-ratelimit-limit'), rest.headers.get('x-ratelimit-remaining')]).toEqual(['3', '2']);
      expect(Number(rest.headers.get('x-ratelimit-reset'))).toBe(1);
      await app.http.post(`/api/v1/conversations/${id}/messages`, { content: 'two' }, { token: a.accessToken });
      socket.send('message.send', { conversationId: id, content: 'three', clientMessageId: 'c3' });
      expect((await socket.next('message.ack')).data.clientMessageId).toBe('c3');
      socket.send('message.send', { conversationId: id, content: 'four', clientMessageId: 'c4' });
      expect((await socket.next('error')).data).toEqual({
        code: 'rate_limited',
        message: 'Too many messages, slow down',
        event: 'message.send',
        clientMessageId: 'c4',
      });
      await socket.barrier(); // still open
      expectRateLimited(
        await app.http.post(`/api/v1/conversations/${id}/messages`, { content: 'five' }, { token: a.accessToken }),
      );
      const text = (await app.http.get('/metrics')).text;
      expect(text).toMatch(/^rate_limited_total\{policy="send"\} 2$/m);
      await socket.close();
    } finally {
      await app.close();
    }
  });

  it('lets failed logins through again once RATE_LOGIN_WINDOW_MS has passed (a fake clock, not a wait)', async () => {
    let now = Date.now();
    const app = await startTestApp({ RATE_LOGIN_FAILS: '2', RATE_LOGIN_WINDOW_MS: '60000' }, (builder) =>
      builder.overrideProvider(Clock).useValue({ now: () => now }),
    );
    try {
      const user = await registerUser(app.http);
      const attempt = (password: string) => app.http.post('/api/v1/auth/login', { username: user.username, password });
      expect([(await attempt('wrong-one')).status, (await attempt('wrong-two')).status]).toEqual([401, 401]);
      const refused = await attempt(user.password);
      expectRateLimited(refused);
      expect(Number(refused.headers.get('retry-after'))).toBe(60);
      now += 59_000;
      expect(Number((await attempt(user.password)).headers.get('retry-after'))).toBe(1);
      now += 1_000;
      expect((await attempt(user.password)).status).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('answers hostile login bodies with 400, counted against the limit, never a 500', async () => {
    const app = await startTestApp({ RATE_LOGIN_FAILS: '5', RATE_REST_PER_MIN: '1000' });
    try {
      const bodies = [
        { username: 12345, password: 'x' },
        { username: { $gt: '' }, password: 'x' },
        { username: ['alice'], password: 'x' },
        { username: 'al\u0000ice', password: 'x' },
        { username: 'a'.repeat(50_000), password: 'x' },
        { password: 'x' },
      ];
      for (const body of bodies) expect((await app.http.post('/api/v1/auth/login', body)).status).toBe(400);
      // Bodies without a string username share one budget: four so far, the fifth is the last.
      expect((await app.http.post('/api/v1/auth/login', { username: 7, password: 'x' })).status).toBe(400);
      expectRateLimited(await app.http.post('/api/v1/auth/login', { username: null, password: 'x' }));
    } finally {
      await app.close();
    }
  });

  it('never limits the API documents', async () => {
    const app = await startTestApp({ RATE_REST_PER_MIN: '2' });
    try {
      for (let i = 0; i < 5; i++) {
        expect((await app.http.get('/docs/asyncapi.json')).status).toBe(200);
        expect((await app.http.get('/docs-json')).status).toBe(200);
      }
    } finally {
      await app.close();
    }
  });
});
