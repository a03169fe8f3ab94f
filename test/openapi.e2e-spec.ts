import { randomUUID } from 'node:crypto';
import { Clock } from '../src/common/clock';
import { uniqueUsername } from './support/factories';
import { OpenApiConformance, type CallOptions, type OpenApiDocument } from './support/openapi-conformance';
import { OwnPostgres } from './support/own-postgres';
import { startTestApp, type TestApp } from './support/test-app';

const API = '/api/v1';
const THUMBS = encodeURIComponent('👍');

/** Documented statuses that no call can bring about, each with why. */
const UNREACHABLE: Record<string, string[]> = {
  // @nestjs/terminus's @HealthCheck() documents a 503 on every check; liveness has no indicator that can fail.
  'GET /health/live': ['503'],
};

interface Account {
  id: string;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

/** Whether an operation refuses a call without credentials: a security requirement, and none of them empty. */
const requiresToken = (security: Record<string, string[]>[] | undefined) =>
  !!security?.length && security.every((requirement) => Object.keys(requirement).length > 0);

/**
 * A request of every operation that passes validation, so that what answers is the
 * layer under test (a rate limit, the database). An operation missing here fails
 * the suite: a new endpoint needs its line, and so gets tested.
 */
const VALID: Record<string, (a: Account) => { path: string } & CallOptions> = {
  'POST /api/v1/auth/register': () => ({
    path: `${API}/auth/register`,
    body: { username: uniqueUsername('oa'), password: 'password-1234' },
  }),
  'POST /api/v1/auth/login': (a) => ({
    path: `${API}/auth/login`,
    body: { username: a.username, password: a.password },
  }),
  'POST /api/v1/auth/refresh': (a) => ({ path: `${API}/auth/refresh`, body: { refreshToken: a.refreshToken } }),
  'POST /api/v1/auth/logout': (a) => ({ path: `${API}/auth/logout`, body: { refreshToken: a.refreshToken } }),
  'GET /api/v1/users/me': () => ({ path: `${API}/users/me` }),
  'GET /api/v1/users': () => ({ path: `${API}/users?query=a` }),
  'POST /api/v1/conversations': () => ({
    path: `${API}/conversations`,
    body: { type: 'direct', participantId: randomUUID() },
  }),
  'GET /api/v1/conversations': () => ({ path: `${API}/conversations` }),
  'GET /api/v1/conversations/{id}': () => ({ path: `${API}/conversations/${randomUUID()}` }),
  'POST /api/v1/conversations/{id}/participants': () => ({
    path: `${API}/conversations/${randomUUID()}/participants`,
    body: { userIds: [randomUUID()] },
  }),
  'DELETE /api/v1/conversations/{id}/participants/{userId}': () => ({
    path: `${API}/conversations/${randomUUID()}/participants/${randomUUID()}`,
  }),
  'POST /api/v1/conversations/{id}/read': () => ({
    path: `${API}/conversations/${randomUUID()}/read`,
    body: { seq: 1 },
  }),
  'GET /api/v1/unread': () => ({ path: `${API}/unread` }),
  'GET /api/v1/sync': () => ({ path: `${API}/sync` }),
  'POST /api/v1/conversations/{id}/messages': () => ({
    path: `${API}/conversations/${randomUUID()}/messages`,
    body: { content: 'hello' },
  }),
  'GET /api/v1/conversations/{id}/messages': () => ({ path: `${API}/conversations/${randomUUID()}/messages` }),
  'PATCH /api/v1/messages/{id}': () => ({ path: `${API}/messages/${randomUUID()}`, body: { content: 'edited' } }),
  'DELETE /api/v1/messages/{id}': () => ({ path: `${API}/messages/${randomUUID()}` }),
  'PUT /api/v1/messages/{id}/reactions/{emoji}': () => ({
    path: `${API}/messages/${randomUUID()}/reactions/${THUMBS}`,
  }),
  'DELETE /api/v1/messages/{id}/reactions/{emoji}': () => ({
    path: `${API}/messages/${randomUUID()}/reactions/${THUMBS}`,
  }),
  'GET /health': () => ({ path: '/health' }),
  'GET /health/live': () => ({ path: '/health/live' }),
  'GET /metrics': () => ({ path: '/metrics' }),
};

/**
 * Issue 12 item 6: a client generated from /docs-json can trust it. A scripted
 * session calls every operation of the document, its successes and each error it
 * documents, on real apps (a normal one, one with tiny rate limits, one whose
 * database goes away); every answer must be a documented status of its operation,
 * with a body and headers that validate against the document. The last test fails
 * if an operation, or a status it documents, was never seen.
 */
describe('the OpenAPI document against the API', () => {
  jest.setTimeout(90_000);
  let t: TestApp;
  let document: OpenApiDocument;
  let c: OpenApiConformance;

  beforeAll(async () => {
    t = await startTestApp();
    document = (await t.http.get('/docs-json')).body;
    c = new OpenApiConformance(document);
  });
  afterAll(() => t?.close());

  /** One checked call that must answer `expected`. */
  async function call(app: TestApp, expected: number, method: string, path: string, options: CallOptions = {}) {
    const response = await c.call(app.baseUrl, method, path, options);
    expect({ call: `${method} ${path}`, status: response.status, body: response.body }).toMatchObject({
      call: `${method} ${path}`,
      status: expected,
    });
    return response;
  }

  async function register(app: TestApp, name = uniqueUsername('oa')): Promise<Account> {
    const password = 'password-1234';
    const res = await call(app, 201, 'POST', `${API}/auth/register`, {
      body: { username: name, password, displayName: `Name of ${name}` },
    });
    return { id: res.body.user.id, username: name, password, ...res.body };
  }

  const sample = (key: string, account: Account) => {
    const make = VALID[key];
    if (!make) throw new Error(`no valid request of ${key} in VALID`);
    return make(account);
  };

  it('has a valid request for every operation (a new endpoint needs one)', () => {
    expect(c.operations.map((op) => op.key).sort()).toEqual(Object.keys(VALID).sort());
  });

  it('a session of every operation: its successes and client errors conform', async () => {
    const alice = await register(t);
    const bob = await register(t);
    const carol = await register(t);
    const as = (who: Account, body?: unknown): CallOptions => ({ token: who.accessToken, body });

    // auth
    await call(t, 409, 'POST', `${API}/auth/register`, {
      body: { username: alice.username, password: 'password-1234' },
    });
    await call(t, 400, 'POST', `${API}/auth/register`, { body: { username: 'x', password: 'short' } });
    await call(t, 200, 'POST', `${API}/auth/login`, { body: { username: alice.username, password: alice.password } });
    await call(t, 401, 'POST', `${API}/auth/login`, { body: { username: alice.username, password: 'wrong-password' } });
    await call(t, 400, 'POST', `${API}/auth/login`, { body: {} });
    const refreshed = await call(t, 200, 'POST', `${API}/auth/refresh`, { body: { refreshToken: alice.refreshToken } });
    alice.refreshToken = refreshed.body.refreshToken;
    await call(t, 401, 'POST', `${API}/auth/refresh`, { body: { refreshToken: 'not-a-token' } });
    await call(t, 400, 'POST', `${API}/auth/refresh`, { body: { refreshToken: 42 } });

    // users
    await call(t, 200, 'GET', `${API}/users/me`, as(alice));
    await call(t, 200, 'GET', `${API}/users?query=${alice.username.slice(0, 3)}`, as(alice));
    await call(t, 400, 'GET', `${API}/users?query=${encodeURIComponent('no spaces')}`, as(alice));

    // conversations: a direct one without messages (lastMessage null), a group
    const direct = await call(
      t,
      201,
      'POST',
      `${API}/conversations`,
      as(alice, { type: 'direct', participantId: bob.id }),
    );
    const directId: string = direct.body.id;
    expect(direct.body.lastMessage).toBeNull();
    await call(t, 200, 'POST', `${API}/conversations`, as(alice, { type: 'direct', participantId: bob.id }));
    await call(t, 404, 'POST', `${API}/conversations`, as(alice, { type: 'direct', participantId: randomUUID() }));
    await call(t, 400, 'POST', `${API}/conversations`, as(alice, { type: 'direct' }));
    const group = await call(
      t,
      201,
      'POST',
      `${API}/conversations`,
      as(alice, { type: 'group', title: 'Team', participantIds: [bob.id] }),
    );
    const groupId: string = group.body.id;
    await call(t, 200, 'GET', `${API}/conversations`, as(alice));
    await call(t, 400, 'GET', `${API}/conversations?limit=0`, as(alice));
    await call(t, 200, 'GET', `${API}/conversations/${directId}`, as(bob));
    await call(t, 404, 'GET', `${API}/conversations/${directId}`, as(carol));
    await call(t, 400, 'GET', `${API}/conversations/not-a-uuid`, as(alice));

    // members
    await call(t, 403, 'POST', `${API}/conversations/${groupId}/participants`, as(bob, { userIds: [carol.id] }));
    await call(t, 200, 'POST', `${API}/conversations/${groupId}/participants`, as(alice, { userIds: [carol.id] }));
    await call(t, 404, 'POST', `${API}/conversations/${randomUUID()}/participants`, as(alice, { userIds: [carol.id] }));
    await call(t, 400, 'POST', `${API}/conversations/${groupId}/participants`, as(alice, { userIds: [] }));
    await call(t, 403, 'DELETE', `${API}/conversations/${groupId}/participants/${carol.id}`, as(bob));
    await call(t, 204, 'DELETE', `${API}/conversations/${groupId}/participants/${carol.id}`, as(alice));
    await call(t, 404, 'DELETE', `${API}/conversations/${groupId}/participants/${carol.id}`, as(alice));
    await call(t, 400, 'DELETE', `${API}/conversations/${groupId}/participants/nobody`, as(alice));

    // messages
    const messages = `${API}/conversations/${directId}/messages`;
    const sent = await call(t, 201, 'POST', messages, as(alice, { content: 'hello', clientMessageId: 'oa-1' }));
    const messageId: string = sent.body.id;
    await call(t, 200, 'POST', messages, as(alice, { content: 'hello', clientMessageId: 'oa-1' }));
    await call(t, 409, 'POST', messages, as(alice, { content: 'other', clientMessageId: 'oa-1' }));
    await call(t, 404, 'POST', messages, as(carol, { content: 'hello' }));
    await call(t, 400, 'POST', messages, as(alice, { content: '   ' }));
    await call(t, 201, 'POST', messages, as(bob, { content: 'a reply', replyToId: messageId }));
    await call(t, 200, 'GET', `${messages}?after=0&limit=10`, as(bob));
    await call(t, 404, 'GET', messages, as(carol));
    await call(t, 400, 'GET', `${messages}?limit=0`, as(bob));
    await call(t, 200, 'PATCH', `${API}/messages/${messageId}`, as(alice, { content: 'hello again' }));
    await call(t, 403, 'PATCH', `${API}/messages/${messageId}`, as(bob, { content: 'not mine' }));
    await call(t, 404, 'PATCH', `${API}/messages/${messageId}`, as(carol, { content: 'not mine' }));
    await call(t, 400, 'PATCH', `${API}/messages/${messageId}`, as(alice, { content: 5 }));

    // reactions
    const reactions = `${API}/messages/${messageId}/reactions`;
    await call(t, 200, 'PUT', `${reactions}/${THUMBS}`, as(bob));
    await call(t, 400, 'PUT', `${reactions}/not-an-emoji`, as(bob));
    await call(t, 404, 'PUT', `${reactions}/${THUMBS}`, as(carol));
    await call(t, 200, 'DELETE', `${reactions}/${THUMBS}`, as(bob));
    await call(t, 400, 'DELETE', `${reactions}/not-an-emoji`, as(bob));
    await call(t, 404, 'DELETE', `${reactions}/${THUMBS}`, as(carol));

    // read markers, unread counts
    await call(t, 200, 'GET', `${API}/unread`, as(bob));
    // sync: a bootstrap, the changes since, a token that is not one
    const boot = await call(t, 200, 'GET', `${API}/sync`, as(bob));
    const since = boot.body.token as string;
    await call(t, 200, 'GET', `${API}/sync?since=${encodeURIComponent(since)}&limit=1`, as(bob));
    await call(t, 200, 'GET', `${API}/sync?since=${encodeURIComponent(since)}`, as(bob));
    await call(t, 410, 'GET', `${API}/sync?since=not-a-token`, as(bob));
    await call(t, 410, 'GET', `${API}/sync?since=${encodeURIComponent(since)}`, as(alice));
    await call(t, 400, 'GET', `${API}/sync?limit=0`, as(bob));
    await call(t, 200, 'POST', `${API}/conversations/${directId}/read`, as(bob, { seq: 1 }));
    await call(t, 404, 'POST', `${API}/conversations/${directId}/read`, as(carol, { seq: 1 }));
    await call(t, 400, 'POST', `${API}/conversations/${directId}/read`, as(bob, { seq: -1 }));

    // deletion, and what a deleted message refuses
    await call(t, 403, 'DELETE', `${API}/messages/${messageId}`, as(bob));
    await call(t, 404, 'DELETE', `${API}/messages/${messageId}`, as(carol));
    await call(t, 400, 'DELETE', `${API}/messages/42`, as(alice));
    await call(t, 204, 'DELETE', `${API}/messages/${messageId}`, as(alice));
    await call(t, 403, 'PUT', `${reactions}/${THUMBS}`, as(bob));
    await call(t, 403, 'DELETE', `${reactions}/${THUMBS}`, as(bob));
    // The list now shows a conversation whose lastMessage is a message, and one (the group) with null.
    const listed = await call(t, 200, 'GET', `${API}/conversations`, as(alice));
    expect(listed.body.items.map((i: { lastMessage: unknown }) => i.lastMessage === null).sort()).toEqual([
      false,
      true,
    ]);
    await call(t, 200, 'GET', messages, as(alice));

    // public operations, without a token
    await call(t, 204, 'POST', `${API}/auth/logout`, { body: { refreshToken: alice.refreshToken } });
    await call(t, 400, 'POST', `${API}/auth/logout`, { body: {} });
    await call(t, 200, 'GET', '/health');
    await call(t, 200, 'GET', '/health/live');
    const metrics = await call(t, 200, 'GET', '/metrics');
    expect(metrics.text).toMatch(/^# HELP /m);

    expect(c.takeProblems()).toEqual([]);
  });

  it('every operation: 400 for a malformed body, 413 for one over the limit, 415 for one not in UTF-8, 401 without a token where it takes one', async () => {
    const tooLarge = JSON.stringify({ content: 'x'.repeat(t.env.BODY_LIMIT_BYTES) });
    for (const op of c.operations) {
      const { path } = sample(op.key, {} as Account);
      await call(t, 400, op.method, path, { raw: '{"unterminated": ' });
      await call(t, 413, op.method, path, { raw: tooLarge });
      await call(t, 415, op.method, path, {
        raw: '{}',
        contentType: 'application/json; charset=latin1',
      });
      if (requiresToken(op.operation.security)) await call(t, 401, op.method, path);
    }
    expect(c.takeProblems()).toEqual([]);
  });

  it('429 with Retry-After on every rate-limited operation', async () => {
    const now = Date.now();
    // A clock that stands still: every call falls in one window of each limit.
    const app = await startTestApp(
      { RATE_REST_PER_MIN: '1', RATE_REGISTER_PER_MIN: '2', RATE_SEND_PER_SEC: '1' },
      (builder) => builder.overrideProvider(Clock).useValue({ now: () => now }),
    );
    try {
      const alice = await register(app);
      const bob = await register(app);
      await call(app, 429, 'POST', `${API}/auth/register`, sample('POST /api/v1/auth/register', alice));
      // Alice's one call of the general limit, then the send limit of its own.
      const direct = await call(app, 201, 'POST', `${API}/conversations`, {
        token: alice.accessToken,
        body: { type: 'direct', participantId: bob.id },
      });
      const messages = `${API}/conversations/${direct.body.id}/messages`;
      await call(app, 201, 'POST', messages, { token: alice.accessToken, body: { content: 'one' } });
      await call(app, 429, 'POST', messages, { token: alice.accessToken, body: { content: 'two' } });
      // The IP's one call before login.
      await call(app, 401, 'POST', `${API}/auth/refresh`, { body: { refreshToken: 'not-a-token' } });
      const done = new Set(['POST /api/v1/auth/register', 'POST /api/v1/conversations/{id}/messages']);
      for (const op of c.operations.filter((o) => o.operation.responses['429'] && !done.has(o.key))) {
        const { path, body } = sample(op.key, alice);
        const token = requiresToken(op.operation.security) ? alice.accessToken : undefined;
        const refused = await call(app, 429, op.method, path, { token, body });
        expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      }
      expect(c.takeProblems()).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('503 with Retry-After on every operation that needs the database, while it is down', async () => {
    const database = await OwnPostgres.start();
    try {
      const app = await startTestApp({ DATABASE_URL: database.url, HEALTH_DB_TIMEOUT_MS: '500' });
      try {
        const alice = await register(app);
        await database.stop();
        for (const op of c.operations.filter(
          (o) => o.operation.responses['503'] && !UNREACHABLE[o.key]?.includes('503'),
        )) {
          const { path, body } = sample(op.key, alice);
          const token = requiresToken(op.operation.security) ? alice.accessToken : undefined;
          await call(app, 503, op.method, path, { token, body });
        }
        expect(c.takeProblems()).toEqual([]);
        await database.start();
      } finally {
        await app.close();
      }
    } finally {
      await database.remove();
    }
  });

  it('/metrics: 401 without METRICS_TOKEN once it is set, 404 on the API port with METRICS_PORT', async () => {
    const token = 'metrics-token-0123456789';
    const guarded = await startTestApp({ METRICS_TOKEN: token });
    try {
      await call(guarded, 401, 'GET', '/metrics');
      await call(guarded, 401, 'GET', '/metrics', { token: 'not-the-metrics-token' });
      await call(guarded, 200, 'GET', '/metrics', { token });
    } finally {
      await guarded.close();
    }
    const elsewhere = await startTestApp({ METRICS_PORT: '0' });
    try {
      await call(elsewhere, 404, 'GET', '/metrics');
    } finally {
      await elsewhere.close();
    }
    expect(c.takeProblems()).toEqual([]);
  });

  it('saw every operation answer every status it documents; public ones answered without a token', () => {
    const missing = c.operations.flatMap((op) =>
      Object.keys(op.operation.responses)
        .filter((status) => !c.seen.get(op.key)?.has(status) && !UNREACHABLE[op.key]?.includes(status))
        .map((status) => `${op.key} (${op.operation.operationId}) ${status}`),
    );
    expect(missing).toEqual([]);
    const publicOps = c.operations.filter((op) => !requiresToken(op.operation.security)).map((op) => op.key);
    expect(publicOps.filter((key) => !c.publicSuccesses.has(key))).toEqual([]);
    expect(publicOps.sort()).toEqual([
      'GET /health',
      'GET /health/live',
      'GET /metrics',
      'POST /api/v1/auth/login',
      'POST /api/v1/auth/logout',
      'POST /api/v1/auth/refresh',
      'POST /api/v1/auth/register',
    ]);
  });
});
