import { randomUUID } from 'node:crypto';
import { openDirect, registerUser, type RegisteredUser } from './support/factories';
import { OwnPostgres } from './support/own-postgres';
import { startTestApp, type TestApp } from './support/test-app';
import { connect, type TestSocket } from './support/ws-client';

/**
 * Docs/protocol.md §3: 500 means a bug, and a database outage is not one. While PostgreSQL
 * is down (a fast shutdown, then a SIGKILL), REST answers 503 with Retry-After, the
 * socket `error {code: "unavailable"}`, readiness fails, one warning is logged per
 * outage; when it is back, everything works again without a restart of Parley.
 */
describe('a database outage', () => {
  jest.setTimeout(60_000);
  let database: OwnPostgres;
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let conversationId: string;
  let sockets: TestSocket[];

  beforeAll(async () => {
    database = await OwnPostgres.start();
    t = await startTestApp({ DATABASE_URL: database.url, HEALTH_DB_TIMEOUT_MS: '500' });
    [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    conversationId = await openDirect(t.http, alice, bob);
    sockets = await Promise.all([connect(t.baseUrl, alice.accessToken), connect(t.baseUrl, bob.accessToken)]);
  });
  afterAll(async () => {
    await Promise.all((sockets ?? []).map((s) => s.close()));
    await t?.close();
    await database?.remove();
  });

  const send = (content: string, user = alice) =>
    t.http.post(`/api/v1/conversations/${conversationId}/messages`, { content }, { token: user.accessToken });
  const outageLines = () => t.logs.filter((l) => /^database unavailable/.test(l.msg));

  async function expectUnavailable(): Promise<void> {
    const sent = await send('during the outage');
    expect({ status: sent.status, retryAfter: sent.headers.get('retry-after'), body: sent.body }).toEqual({
      status: 503,
      retryAfter: '2',
      body: { statusCode: 503, error: 'Service Unavailable', message: 'The database is unavailable, retry later' },
    });
    for (const path of ['/api/v1/conversations', `/api/v1/conversations/${conversationId}/messages`, '/api/v1/unread'])
      expect((await t.http.get(path, { token: bob.accessToken })).status).toBe(503);
    // A message id of nobody's: still a 503, not the 404 an outsider would get.
    expect((await t.http.delete(`/api/v1/messages/${randomUUID()}`, { token: bob.accessToken })).status).toBe(503);

    const [socket] = sockets;
    socket.send('message.send', { conversationId, content: 'over the socket', clientMessageId: 'outage-1' });
    expect((await socket.next('error')).data).toMatchObject({
      code: 'unavailable',
      event: 'message.send',
      clientMessageId: 'outage-1',
    });
    socket.send('read', { conversationId, seq: 1 });
    expect((await socket.next('error')).data).toMatchObject({ code: 'unavailable', event: 'read' });
    expect(socket.ws.readyState).toBe(socket.ws.OPEN);

    const health = await t.http.get('/health');
    expect(health.status).toBe(503);
    expect(health.body.error).toMatchObject({ database: { status: 'down' } });
    expect((await t.http.get('/health/live')).status).toBe(200);
  }

  /** Recovery is a matter of time (reconnects), not of an event: poll, bounded. */
  async function expectRecovered(content: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    let sent = await send(content);
    while (sent.status === 503 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      sent = await send(content);
    }
    expect(sent.status).toBe(201);
    expect((await sockets[1].next('message.created', (d) => d.content === content)).data.seq).toBe(sent.body.seq);
    expect((await t.http.get('/health')).status).toBe(200);
    // The outage ends when the next probe (every second) answers.
    const available = async () => /^database_available 1$/m.test((await t.http.get('/metrics')).text);
    while (!(await available()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await available()).toBe(true);
  }

  it('answers 503 + Retry-After and `unavailable` during a fast shutdown, logs it once, and recovers', async () => {
    expect((await send('before')).status).toBe(201);
    await database.stop();
    await expectUnavailable();
    await expectUnavailable();
    expect(outageLines()).toHaveLength(1);
    expect(outageLines()[0].level).toBe(40);
    const metrics = await t.http.get('/metrics');
    expect(metrics.text).toMatch(/^database_available 0$/m);
    expect(Number(/^database_unavailable_total (\d+)/m.exec(metrics.text)?.[1])).toBeGreaterThanOrEqual(14);

    await database.start();
    await expectRecovered('after the restart');
    // The deletions listener is back too: a user deleted now is refused at once.
    const doomed = await registerUser(t.http);
    expect((await t.http.get('/api/v1/unread', { token: doomed.accessToken })).status).toBe(200);
    await t.dataSource.query('DELETE FROM users WHERE id = $1', [doomed.id]);
    const refused = async () => (await t.http.get('/api/v1/unread', { token: doomed.accessToken })).status;
    // NOTIFY arrives on the listener's own connection, a moment after the DELETE commits.
    const deadline = Date.now() + 5_000;
    while ((await refused()) !== 401 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await refused()).toBe(401);
  });

  it('does the same when PostgreSQL is killed with SIGKILL', async () => {
    await database.kill();
    await expectUnavailable();
    expect(outageLines()).toHaveLength(2); // one per outage
    await database.start();
    await expectRecovered('after the kill');
  });
});
