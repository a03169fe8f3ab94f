import { randomUUID } from 'node:crypto';
import { createGroup, openDirect, registerUser, type RegisteredUser } from './support/factories';
import { countQueries } from './support/query-counter';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/test-app';
import { craftJwt, nowSeconds } from './support/tokens';
import { connect, refused, wsUrl } from './support/ws-client';

/**
 * docs/protocol.md §3 and §2: a valid token whose user does not exist (deleted, or never
 * there) authenticates nobody: 401 on every authenticated call, 4401 on the socket,
 * never a 500; and knowing that a user exists costs no query per request.
 */
describe('a token that outlives its user', () => {
  let t: TestApp;
  let operations: [string, string][];
  beforeAll(async () => {
    t = await startTestApp();
    const doc = (await t.http.get('/docs-json')).body as {
      paths: Record<string, Record<string, { security?: unknown[] }>>;
    };
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, operation]) => operation.security?.length)
        .map(([method, _]) => [method.toUpperCase(), path.replace(/\{[^}]+\}/g, randomUUID())] as [string, string]),
    );
  });
  afterAll(() => t.close());

  const deleteUser = (user: RegisteredUser) => t.dataSource.query('DELETE FROM users WHERE id = $1', [user.id]);

  /** Every authenticated operation of the OpenAPI document, with a body that would otherwise be valid. */
  async function statuses(token: string, peer: RegisteredUser): Promise<string[]> {
    const bodies: Record<string, unknown> = {
      'POST /api/v1/conversations': { type: 'group', title: 'x', participantIds: [peer.id] },
      'POST /api/v1/conversations/{id}/messages': { content: 'hi' },
      'POST /api/v1/conversations/{id}/participants': { userIds: [peer.id] },
      'POST /api/v1/conversations/{id}/read': { seq: 1 },
      'PATCH /api/v1/messages/{id}': { content: 'x' },
    };
    const seen: string[] = [];
    for (const [method, path] of operations) {
      const template = path
        .replace(/[0-9a-f-]{36}/g, '{id}')
        .replace('{id}/participants/{id}', '{id}/participants/{userId}');
      const res = await t.http.request(method, path, { token, body: bodies[`${method} ${template}`] });
      seen.push(`${res.status} ${method} ${template}`);
    }
    return seen;
  }

  it('answers a signed token for a user id that never existed with 401 on every authenticated call', async () => {
    const peer = await registerUser(t.http);
    const token = craftJwt({ sub: randomUUID(), typ: 'access', exp: nowSeconds() + 600 });
    const answers = await statuses(token, peer);
    expect(operations.length).toBeGreaterThanOrEqual(10);
    expect(answers.filter((a) => !a.startsWith('401 '))).toEqual([]);
  });

  it('answers the still-valid token of a deleted user with 401 everywhere, conversations created or not', async () => {
    const [doomed, peer] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    // Known to exist first (cached), so that only the deletion can make it 401.
    expect((await t.http.get('/api/v1/conversations', { token: doomed.accessToken })).status).toBe(200);
    await deleteUser(doomed);
    const creates = [
      { type: 'direct', participantId: peer.id },
      { type: 'group', title: 'g', participantIds: [peer.id] },
      { type: 'group', title: 'alone', participantIds: [] },
    ];
    for (const body of creates) {
      const res = await t.http.post('/api/v1/conversations', body, { token: doomed.accessToken });
      expect({ status: res.status, body: res.body }).toEqual({
        status: 401,
        body: { statusCode: 401, error: 'Unauthorized', message: 'The user of this token no longer exists' },
      });
    }
    const answers = await statuses(doomed.accessToken, peer);
    expect(answers.filter((a) => !a.startsWith('401 '))).toEqual([]);
    expect((await t.http.get('/api/v1/users?query=a', { token: peer.accessToken })).status).toBe(200);
  });

  it('closes the socket of such a token with 4401 before any event', async () => {
    const doomed = await registerUser(t.http);
    await deleteUser(doomed);
    expect(await refused(wsUrl(t.baseUrl, doomed.accessToken))).toMatchObject({ code: 4401, frames: [] });
    const stranger = craftJwt(
      { sub: randomUUID(), typ: 'access', exp: nowSeconds() + 600 },
      { secret: TEST_JWT_SECRET },
    );
    expect(await refused(wsUrl(t.baseUrl, stranger))).toMatchObject({ code: 4401, frames: [] });
  });

  it("closes a deleted user's open sockets with error unauthorized and 4401, and nobody else's", async () => {
    const [doomed, peer] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, doomed, peer);
    const [first, second, bystander] = await Promise.all([
      connect(t.baseUrl, doomed.accessToken),
      connect(t.baseUrl, doomed.accessToken),
      connect(t.baseUrl, peer.accessToken),
    ]);
    await deleteUser(doomed);
    for (const socket of [first, second]) {
      expect((await socket.next('error')).data).toMatchObject({ code: 'unauthorized' });
      expect((await socket.closed).code).toBe(4401);
    }
    await bystander.barrier();
    expect(bystander.ws.readyState).toBe(bystander.ws.OPEN);
    // The conversation went with its member (ON DELETE CASCADE): the peer is alone in it.
    expect((await t.http.get(`/api/v1/conversations/${id}`, { token: peer.accessToken })).status).toBe(200);
    await bystander.close();
  });

  it('asks the database once per user and instance, not once per request', async () => {
    const owner = await registerUser(t.http);
    const members = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    await createGroup(t.http, owner, members);
    // Another instance has never seen this user: its first request asks, the next ones do not.
    const other = await startTestApp();
    try {
      const get = () => other.http.get('/api/v1/unread', { token: owner.accessToken });
      const first = await countQueries(get);
      const second = await countQueries(get);
      const third = await countQueries(get);
      expect(first.result.status).toBe(200);
      expect(first.count).toBe(second.count + 1);
      expect(third.count).toBe(second.count);
      expect(first.queries.some((q) => /FROM "users"/.test(q))).toBe(true);
      expect(second.queries.some((q) => /FROM "users"/.test(q))).toBe(false);
    } finally {
      await other.close();
    }
  });
});
