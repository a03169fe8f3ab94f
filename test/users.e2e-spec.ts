import { randomBytes } from 'node:crypto';
import { registerUser, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

describe('users (docs/protocol.md §2)', () => {
  let t: TestApp;
  let me: RegisteredUser;
  beforeAll(async () => {
    t = await startTestApp();
    me = await registerUser(t.http, { displayName: 'Me Myself' });
  });
  afterAll(() => t.close());

  const search = (query: string) =>
    t.http.get(`/api/v1/users?query=${encodeURIComponent(query)}`, { token: me.accessToken });

  it('GET /users/me returns the caller', async () => {
    const res = await t.http.get('/api/v1/users/me', { token: me.accessToken });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: me.id,
      username: me.username,
      displayName: 'Me Myself',
      createdAt: expect.any(String),
    });
  });

  it('GET /users/me needs a token', async () => {
    expect((await t.http.get('/api/v1/users/me')).status).toBe(401);
  });

  describe('GET /users?query=', () => {
    const prefix = `s${randomBytes(4).toString('hex')}`;
    beforeAll(async () => {
      for (const suffix of ['_b', '_a', 'xc', '.d']) await registerUser(t.http, { username: `${prefix}${suffix}` });
    });

    it('returns users whose username starts with the query, by username', async () => {
      const res = await search(prefix);
      expect(res.status).toBe(200);
      expect(res.body.items.map((u: { username: string }) => u.username)).toEqual(
        [`${prefix}.d`, `${prefix}_a`, `${prefix}_b`, `${prefix}xc`].sort(),
      );
      expect(Object.keys(res.body.items[0]).sort()).toEqual(['createdAt', 'displayName', 'id', 'username']);
    });

    it('is case-insensitive', async () => {
      expect((await search(prefix.toUpperCase())).body.items).toHaveLength(4);
    });

    it('treats _ literally, not as a LIKE wildcard', async () => {
      const res = await search(`${prefix}_`);
      expect(res.body.items.map((u: { username: string }) => u.username).sort()).toEqual([
        `${prefix}_a`,
        `${prefix}_b`,
      ]);
    });

    it('returns at most 20', async () => {
      const many = `m${randomBytes(4).toString('hex')}`;
      await Promise.all(Array.from({ length: 22 }, (_, i) => registerUser(t.http, { username: `${many}${i}` })));
      const res = await search(many);
      expect(res.body.items).toHaveLength(20);
    });

    it('returns an empty list when nothing matches', async () => {
      expect((await search('zzzz_nobody_here')).body).toEqual({ items: [] });
    });

    it.each([
      ['missing', '/api/v1/users'],
      ['empty', '/api/v1/users?query='],
      ['a %', '/api/v1/users?query=%25'],
      ['a space', '/api/v1/users?query=a%20b'],
      ['too long', `/api/v1/users?query=${'a'.repeat(33)}`],
      ['repeated (an array)', '/api/v1/users?query=a&query=b'],
      ['nested (an object)', '/api/v1/users?query[a]=b'],
      ['a NUL byte', '/api/v1/users?query=a%00'],
      ['an unknown parameter', '/api/v1/users?query=ab&limit=5'],
      ['a KELVIN SIGN (lower-cases to k)', `/api/v1/users?query=${encodeURIComponent('\u212Ael')}`],
    ])('answers 400 when the query is %s', async (_case, path) => {
      const res = await t.http.get(path, { token: me.accessToken });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    });

    it('needs a token', async () => {
      expect((await t.http.get('/api/v1/users?query=ab')).status).toBe(401);
    });
  });
});
