import { openDirect, registerUser, uniqueUsername } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

describe('REST rate limits (contract §7)', () => {
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
});
