import { randomUUID } from 'node:crypto';
import { registerUser, uniqueUsername } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { craftJwt, nowSeconds } from './support/tokens';

describe('auth (docs/protocol.md §2)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  const register = (body: unknown) => t.http.post('/api/v1/auth/register', body);
  const login = (body: unknown) => t.http.post('/api/v1/auth/login', body);

  describe('POST /auth/register', () => {
    it('creates the user and returns a session', async () => {
      const username = uniqueUsername('Reg');
      const res = await register({ username, password: 'password-1234', displayName: '  Ada Lovelace ' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        user: {
          id: expect.stringMatching(/^[0-9a-f-]{36}$/),
          username: username.toLowerCase(),
          displayName: 'Ada Lovelace',
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
        },
        accessToken: expect.any(String),
        refreshToken: expect.any(String),
        expiresIn: 900,
      });
      expect(Object.keys(res.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'user']);
    });

    it('defaults displayName to the username', async () => {
      const res = await register({ username: uniqueUsername(), password: 'password-1234' });
      expect(res.status).toBe(201);
      expect(res.body.user.displayName).toBe(res.body.user.username);
    });

    it('answers 409 for a taken username, case-insensitively', async () => {
      const username = uniqueUsername('dup');
      expect((await register({ username, password: 'password-1234' })).status).toBe(201);
      const again = await register({ username: username.toUpperCase(), password: 'password-5678' });
      expect(again.status).toBe(409);
      expect(again.body).toEqual({ statusCode: 409, error: 'Conflict', message: 'Username is taken' });
    });

    it('lets exactly one of concurrent registrations of a name win', async () => {
      const username = uniqueUsername('race');
      const results = await Promise.all(
        Array.from({ length: 6 }, () => register({ username, password: 'password-1234' })),
      );
      expect(results.map((r) => r.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    });

    it('never stores or returns the password', async () => {
      const username = uniqueUsername();
      const res = await register({ username, password: 'password-1234' });
      expect(res.text).not.toContain('password-1234');
      const [row] = await t.dataSource.query('SELECT password_hash FROM users WHERE username = $1', [username]);
      expect(row.password_hash).toMatch(/^\$argon2id\$/);
    });

    it.each([
      ['missing username', { password: 'password-1234' }, 'username'],
      ['missing password', { username: 'valid_name' }, 'password'],
      ['username too short', { username: 'ab', password: 'password-1234' }, 'username'],
      ['username too long', { username: 'a'.repeat(33), password: 'password-1234' }, 'username'],
      ['username with a space', { username: 'bad name', password: 'password-1234' }, 'username'],
      ['username with a dash', { username: 'bad-name', password: 'password-1234' }, 'username'],
      ['username as a number', { username: 12345, password: 'password-1234' }, 'username'],
      ['username as an array', { username: ['abc'], password: 'password-1234' }, 'username'],
      ['username as an object', { username: { $gt: '' }, password: 'password-1234' }, 'username'],
      ['password too short', { username: 'valid_name', password: 'short' }, 'password'],
      ['password too long', { username: 'valid_name', password: 'p'.repeat(129) }, 'password'],
      ['password as a number', { username: 'valid_name', password: 12345678 }, 'password'],
      ['password null', { username: 'valid_name', password: null }, 'password'],
      [
        'displayName empty after trim',
        { username: 'valid_name', password: 'password-1234', displayName: '   ' },
        'displayName',
      ],
      [
        'displayName too long',
        { username: 'valid_name', password: 'password-1234', displayName: 'd'.repeat(65) },
        'displayName',
      ],
      [
        'displayName with a newline',
        { username: 'valid_name', password: 'password-1234', displayName: 'a\nb' },
        'displayName',
      ],
      ['displayName as a number', { username: 'valid_name', password: 'password-1234', displayName: 5 }, 'displayName'],
      ['an unknown property', { username: 'valid_name', password: 'password-1234', admin: true }, 'admin'],
      [
        'a __proto__ property',
        JSON.parse('{"username":"valid_name","password":"password-1234","__proto__":{"x":1}}'),
        '__proto__',
      ],
      ['a NUL byte in the username', { username: 'ab\u0000c', password: 'password-1234' }, 'username'],
      // Full Unicode lower-casing would fold it into "kelvin" and register a look-alike.
      ['a KELVIN SIGN in the username', { username: '\u212Aelvin', password: 'password-1234' }, 'username'],
      ['a NUL byte in the password', { username: 'valid_name', password: 'password\u00001234' }, 'password'],
      [
        'a NUL byte in displayName',
        { username: 'valid_name', password: 'password-1234', displayName: 'a\u0000' },
        'displayName',
      ],
    ])('answers 400 naming the field for %s', async (_case, body, field) => {
      const res = await register(body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
      expect(JSON.stringify(res.body.message)).toContain(field);
    });

    it.each([
      ['malformed JSON', '{"username": "abc",'],
      ['a JSON string', '"just a string"'],
      ['a JSON number', '12345'],
      ['JSON null', 'null'],
      ['a JSON array', '[{"username":"abc","password":"password-1234"}]'],
      ['an empty body', ''],
    ])('answers 400 for %s', async (_case, raw) => {
      const res = await t.http.request('POST', '/api/v1/auth/register', { raw });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    });

    it('answers 400, not 500, for invalid UTF-8', async () => {
      const raw = Buffer.concat([
        Buffer.from('{"username":"ab'),
        Buffer.from([0xff, 0xfe, 0xc3]),
        Buffer.from('","password":"password-1234"}'),
      ]);
      const res = await t.http.request('POST', '/api/v1/auth/register', { raw });
      expect(res.status).toBe(400);
    });

    it('answers 400 for a body of another content type', async () => {
      const res = await t.http.request('POST', '/api/v1/auth/register', {
        raw: 'username=abc&password=password-1234',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(res.status).toBe(400);
    });

    it('answers 413 for a body over BODY_LIMIT_BYTES', async () => {
      const res = await register({ username: 'valid_name', password: 'x'.repeat(t.env.BODY_LIMIT_BYTES + 1) });
      expect(res.status).toBe(413);
      expect(res.body).toEqual({
        statusCode: 413,
        error: 'Payload Too Large',
        message: expect.stringContaining('bytes'),
      });
    });

    it('answers 400 for deeply nested JSON', async () => {
      const raw = `{"username":"valid_name","password":"password-1234","x":${'['.repeat(5000)}${']'.repeat(5000)}}`;
      const res = await t.http.request('POST', '/api/v1/auth/register', { raw });
      expect(res.status).toBe(400);
    });
  });

  describe('POST /auth/login', () => {
    it('returns a session for the right password, username case-insensitive', async () => {
      const user = await registerUser(t.http);
      const res = await login({ username: user.username.toUpperCase(), password: user.password });
      expect(res.status).toBe(200);
      expect(res.body.user.id).toBe(user.id);
      expect(res.body).toEqual(
        expect.objectContaining({ accessToken: expect.any(String), refreshToken: expect.any(String), expiresIn: 900 }),
      );
    });

    it('answers the same 401 for an unknown user and a wrong password', async () => {
      const user = await registerUser(t.http);
      const wrong = await login({ username: user.username, password: 'not-the-password' });
      const unknown = await login({ username: uniqueUsername('ghost'), password: 'not-the-password' });
      expect(wrong.status).toBe(401);
      expect(unknown.status).toBe(401);
      expect(wrong.body).toEqual(unknown.body);
      expect(wrong.body).toEqual({ statusCode: 401, error: 'Unauthorized', message: 'Invalid username or password' });
    });

    it('answers 400, naming the field, for a username no account can have', async () => {
      const res = await login({ username: 'no such user!', password: 'password-1234' });
      expect(res.status).toBe(400);
      expect(res.body.message).toEqual([expect.stringContaining('username')]);
    });

    it.each([
      ['U+212A KELVIN SIGN', '\u212A'],
      ['U+0130 LATIN CAPITAL LETTER I WITH DOT ABOVE', '\u0130'],
    ])('does not open an account for a look-alike spelling with %s: 400', async (_case, lookAlike) => {
      const letter = lookAlike === '\u212A' ? 'k' : 'i';
      const user = await registerUser(t.http, { username: uniqueUsername(letter) });
      const spoofed = lookAlike + user.username.slice(1);
      const res = await login({ username: spoofed, password: user.password });
      expect(res.status).toBe(400);
      expect(res.body.accessToken).toBeUndefined();
    });

    it.each([
      ['missing password', { username: 'someone' }],
      ['missing username', { password: 'password-1234' }],
      ['username as a number', { username: 1, password: 'password-1234' }],
      ['password as an object', { username: 'someone', password: { a: 1 } }],
      ['an empty password', { username: 'someone', password: '' }],
      ['a huge password', { username: 'someone', password: 'p'.repeat(2000) }],
      ['an unknown property', { username: 'someone', password: 'password-1234', remember: true }],
      ['a NUL byte', { username: 'some\u0000one', password: 'password-1234' }],
    ])('answers 400 for %s', async (_case, body) => {
      expect((await login(body)).status).toBe(400);
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates: a new pair, and the old refresh token is dead', async () => {
      const user = await registerUser(t.http);
      const first = await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken });
      expect(first.status).toBe(200);
      expect(first.body.user.id).toBe(user.id);
      expect(first.body.refreshToken).not.toBe(user.refreshToken);
      const me = await t.http.get('/api/v1/users/me', { token: first.body.accessToken });
      expect(me.status).toBe(200);

      const next = await t.http.post('/api/v1/auth/refresh', { refreshToken: first.body.refreshToken });
      expect(next.status).toBe(200);
    });

    it('revokes the whole family when a dead token is presented again', async () => {
      const user = await registerUser(t.http);
      const rotated = await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken });
      expect(rotated.status).toBe(200);

      const replay = await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken });
      expect(replay.status).toBe(401);
      // The thief's replay also killed the legitimate holder's newer token.
      const legit = await t.http.post('/api/v1/auth/refresh', { refreshToken: rotated.body.refreshToken });
      expect(legit.status).toBe(401);
    });

    it('lets exactly one of concurrent uses of a token succeed', async () => {
      const user = await registerUser(t.http);
      const results = await Promise.all(
        Array.from({ length: 5 }, () => t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken })),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      expect(results.filter((r) => r.status === 401)).toHaveLength(4);
    });

    it('never leaves the winner of a refresh race alive when the loser presented a dead token (20 trials)', async () => {
      for (let trial = 0; trial < 20; trial++) {
        const user = await registerUser(t.http);
        const [x, y] = await Promise.all([
          t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken }),
          t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken }),
        ]);
        const winner = [x, y].find((r) => r.status === 200)!;
        expect([x.status, y.status].sort()).toEqual([200, 401]);
        expect((await t.http.post('/api/v1/auth/refresh', { refreshToken: winner.body.refreshToken })).status).toBe(
          401,
        );
      }
    });

    it('does not revoke other sessions of the same user', async () => {
      const user = await registerUser(t.http);
      const other = await login({ username: user.username, password: user.password });
      await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken });
      await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken }); // replay: family 1 dies
      const res = await t.http.post('/api/v1/auth/refresh', { refreshToken: other.body.refreshToken });
      expect(res.status).toBe(200);
    });

    it('stores only a digest of the refresh token', async () => {
      const user = await registerUser(t.http);
      const rows = await t.dataSource.query('SELECT token_hash FROM refresh_tokens WHERE user_id = $1', [user.id]);
      expect(rows).toHaveLength(1);
      expect(rows[0].token_hash).toMatch(/^[0-9a-f]{64}$/);
      expect(JSON.stringify(rows)).not.toContain(user.refreshToken);
    });

    it('answers 401 for an expired refresh token', async () => {
      const user = await registerUser(t.http);
      await t.dataSource.query(
        "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1",
        [user.id],
      );
      expect((await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken })).status).toBe(401);
    });

    it.each([
      ['an unknown token', { refreshToken: 'not-a-real-token' }, 401],
      ['an access token in its place', null, 401],
      ['a missing token', {}, 400],
      ['a number', { refreshToken: 42 }, 400],
      ['an empty string', { refreshToken: '' }, 400],
      ['a huge string', { refreshToken: 'r'.repeat(10_000) }, 400],
      ['a NUL byte', { refreshToken: 'abc\u0000' }, 400],
    ])('answers for %s', async (_case, body, status) => {
      const user = await registerUser(t.http);
      const res = await t.http.post('/api/v1/auth/refresh', body ?? { refreshToken: user.accessToken });
      expect(res.status).toBe(status);
    });
  });

  describe('POST /auth/logout', () => {
    it('answers 204 and kills the refresh token', async () => {
      const user = await registerUser(t.http);
      const res = await t.http.post('/api/v1/auth/logout', { refreshToken: user.refreshToken });
      expect(res.status).toBe(204);
      expect(res.text).toBe('');
      expect((await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken })).status).toBe(401);
    });

    it('ends the session: the tokens rotated from it die too', async () => {
      const user = await registerUser(t.http);
      const rotated = await t.http.post('/api/v1/auth/refresh', { refreshToken: user.refreshToken });
      expect((await t.http.post('/api/v1/auth/logout', { refreshToken: rotated.body.refreshToken })).status).toBe(204);
      expect((await t.http.post('/api/v1/auth/refresh', { refreshToken: rotated.body.refreshToken })).status).toBe(401);
    });

    it('is idempotent and says nothing about unknown tokens', async () => {
      expect((await t.http.post('/api/v1/auth/logout', { refreshToken: 'unknown' })).status).toBe(204);
    });

    it.each([[{}], [{ refreshToken: 7 }], [{ refreshToken: 'x', extra: 1 }]])('answers 400 for %j', async (body) => {
      expect((await t.http.post('/api/v1/auth/logout', body)).status).toBe(400);
    });
  });

  describe('access tokens', () => {
    const me = (headers: Record<string, string>) => t.http.get('/api/v1/users/me', { headers });

    it('accepts a valid bearer token', async () => {
      const user = await registerUser(t.http);
      const res = await me({ authorization: `Bearer ${user.accessToken}` });
      expect(res.status).toBe(200);
    });

    it.each([
      ['no header', {}],
      ['an empty bearer', { authorization: 'Bearer ' }],
      ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }],
      ['garbage', { authorization: 'Bearer not.a.jwt' }],
      ['a huge token', { authorization: `Bearer ${'a'.repeat(5000)}` }],
    ])('answers 401 for %s', async (_case, headers) => {
      const res = await me(headers);
      expect(res.status).toBe(401);
      expect(res.body.error).toBe('Unauthorized');
    });

    it('answers 401 for an expired token, saying so', async () => {
      const user = await registerUser(t.http);
      const token = craftJwt({ sub: user.id, typ: 'access', iat: nowSeconds() - 100, exp: nowSeconds() - 10 });
      const res = await me({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
      expect(res.body.message).toBe('Access token expired');
    });

    it('answers 401 for a forged signature', async () => {
      const user = await registerUser(t.http);
      const token = craftJwt(
        { sub: user.id, typ: 'access', exp: nowSeconds() + 60 },
        { secret: 'another-secret-another-secret-another' },
      );
      expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
    });

    it('answers 401 for alg: none', async () => {
      const user = await registerUser(t.http);
      const token = craftJwt({ sub: user.id, typ: 'access', exp: nowSeconds() + 60 }, { alg: 'none', sign: false });
      expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
    });

    it('answers 401 for another HMAC algorithm with the right secret (only HS256 is configured)', async () => {
      const user = await registerUser(t.http);
      const token = craftJwt({ sub: user.id, typ: 'access', exp: nowSeconds() + 60 }, { alg: 'HS512' });
      expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
    });

    it('answers 401 for a validly signed token that is not an access token', async () => {
      const user = await registerUser(t.http);
      const noType = craftJwt({ sub: user.id, exp: nowSeconds() + 60 });
      const badSub = craftJwt({ sub: "1' OR '1'='1", typ: 'access', exp: nowSeconds() + 60 });
      const noExp = craftJwt({ sub: user.id, typ: 'access' });
      for (const token of [noType, badSub, noExp]) {
        expect((await me({ authorization: `Bearer ${token}` })).status).toBe(401);
      }
    });

    it('answers 401, not 500, for a valid token of a user that does not exist', async () => {
      const token = craftJwt({ sub: randomUUID(), typ: 'access', exp: nowSeconds() + 60 });
      const res = await me({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(401);
    });
  });
});
