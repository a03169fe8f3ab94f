import { Parser } from '@asyncapi/parser';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { SERVER_EVENTS } from '../src/realtime/asyncapi';
import { createGroup, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { connect, type Frame, type TestSocket } from './support/ws-client';

type Schema = Record<string, any>;

/** GET with headers fetch would not send as given (Host). */
function getJson(baseUrl: string, path: string, headers: Record<string, string> = {}): Promise<any> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${baseUrl}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode}`));
        else resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A validator per server event, of the whole frame (`{event, data}`) against the
 * event's message payload. Every object schema is closed here (additionalProperties:
 * false) even where the document leaves it open like the OpenAPI document does, so a
 * field a frame leaks (a view's `userIds`, `unreadCounts`) fails the test.
 */
function frameValidators(document: Schema): Map<string, ValidateFunction> {
  const close = (schema: unknown): unknown => {
    if (Array.isArray(schema)) return schema.map(close);
    if (typeof schema !== 'object' || schema === null) return schema;
    const out = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'examples' ? v : close(v)]));
    if ('properties' in out && !('additionalProperties' in out)) out.additionalProperties = false;
    return out;
  };
  // The document's $refs point into its components; ajv gets them as definitions of each schema.
  const local = (schema: unknown) =>
    close(JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/definitions/')));
  const definitions = local(document.components.schemas);
  const ajv = new Ajv({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  const validators = new Map<string, ValidateFunction>();
  for (const [key, message] of Object.entries<Schema>(document.channels.ws.messages)) {
    if (!key.startsWith('server.')) continue;
    validators.set(message.name, ajv.compile({ ...(local(message.payload) as Schema), definitions }));
  }
  return validators;
}

describe('AsyncAPI document /docs/asyncapi.json', () => {
  let t: TestApp;
  beforeAll(async () => {
    // One trusted proxy hop, as behind a load balancer; no presence grace, so `offline` comes at close.
    t = await startTestApp({ TRUST_PROXY_HOPS: '1', PRESENCE_GRACE_MS: '0' });
  });
  afterAll(() => t.close());

  it('is valid AsyncAPI 3 to @asyncapi/parser, with real payloads and no OpenAPI-only keywords', async () => {
    const document = await getJson(t.baseUrl, '/docs/asyncapi.json');
    const { document: parsed, diagnostics } = await new Parser().parse(JSON.stringify(document));
    // Severity 0 is an error, 1 a warning (2 and 3 are information and hints).
    expect(diagnostics.filter((d) => d.severity <= 1)).toEqual([]);
    expect(parsed).toBeDefined();

    const schemas = document.components.schemas;
    expect(Object.keys(schemas).sort()).toEqual([
      'Conversation',
      'Message',
      'MessageReactions',
      'Participant',
      'Reaction',
    ]);
    expect(Object.keys(schemas.Message.properties).sort()).toEqual(
      [
        'clientMessageId',
        'content',
        'conversationId',
        'createdAt',
        'deleted',
        'editedAt',
        'id',
        'reactions',
        'replyToId',
        'senderId',
        'seq',
      ].sort(),
    );
    expect(schemas.Conversation.properties.participants.items).toEqual({ $ref: '#/components/schemas/Participant' });
    expect(JSON.stringify(document)).not.toMatch(/"nullable"|"example"|#\/components\/schemas\/\w+Dto"/);
    // Every server event of the code is in the document, and nothing else.
    const server = Object.values<Schema>(document.channels.ws.messages)
      .filter((m) => m.summary === 'server to client')
      .map((m) => m.name);
    expect(server.sort()).toEqual([...SERVER_EVENTS].sort());
  });

  describe('server', () => {
    it('is the host and scheme the request came to', async () => {
      const document = await getJson(t.baseUrl, '/docs/asyncapi.json');
      expect(document.servers).toEqual({
        parley: { host: new URL(t.baseUrl).host, protocol: 'ws', pathname: '/ws' },
      });
      const named = await getJson(t.baseUrl, '/docs/asyncapi.json', { host: 'chat.example.org:8080' });
      expect(named.servers.parley).toMatchObject({ host: 'chat.example.org:8080', protocol: 'ws' });
    });

    it("is the proxy's X-Forwarded-Host and -Proto when TRUST_PROXY_HOPS trusts it", async () => {
      const document = await getJson(t.baseUrl, '/docs/asyncapi.json', {
        'x-forwarded-host': 'chat.example.org',
        'x-forwarded-proto': 'https',
      });
      expect(document.servers.parley).toEqual({ host: 'chat.example.org', protocol: 'wss', pathname: '/ws' });
    });

    it('ignores X-Forwarded-* without a trusted proxy, and a Host that is no host', async () => {
      const direct = await startTestApp();
      try {
        const host = new URL(direct.baseUrl).host;
        const forwarded = await getJson(direct.baseUrl, '/docs/asyncapi.json', {
          'x-forwarded-host': 'evil.example',
          'x-forwarded-proto': 'https',
        });
        expect(forwarded.servers.parley).toEqual({ host, protocol: 'ws', pathname: '/ws' });
        const junk = await getJson(direct.baseUrl, '/docs/asyncapi.json', { host: 'a b/<c>' });
        expect(junk.servers.parley.host).toBe(host);
      } finally {
        await direct.close();
      }
    });
  });

  it('describes a live frame of every server event', async () => {
    const validators = frameValidators(await getJson(t.baseUrl, '/docs/asyncapi.json'));
    const sockets: TestSocket[] = [];
    const open = async (user: RegisteredUser) => {
      const socket = await connect(t.baseUrl, user.accessToken);
      sockets.push(socket);
      return socket;
    };
    const [alice, bob, carol] = [await registerUser(t.http), await registerUser(t.http), await registerUser(t.http)];
    const carolSince = (await t.http.get('/api/v1/sync', { token: carol.accessToken })).body.token as string;
    const a = await open(alice);
    try {
      const groupId = await createGroup(t.http, alice, [bob], 'Docs');
      await a.next('conversation.created', (c) => c.id === groupId && c.lastMessage === null);
      const b = await open(bob);
      await a.next('presence', (p) => p.userId === bob.id && p.status === 'online');

      a.send('ping');
      await a.next('pong');
      a.send('auth', { token: alice.accessToken });
      await a.next('auth.ok');

      a.send('message.send', { conversationId: groupId, content: 'first', clientMessageId: 'docs-1' });
      const { message: first } = (await a.next('message.ack')).data;
      await b.next('message.created', (m) => m.id === first.id);
      b.send('message.send', {
        conversationId: groupId,
        content: 're',
        clientMessageId: 'docs-2',
        replyToId: first.id,
      });
      await a.next('message.created', (m) => m.replyToId === first.id);

      b.send('delivered', { conversationId: groupId, seq: 2 });
      await a.next('message.delivered', (d) => d.userId === bob.id);
      b.send('read', { conversationId: groupId, seq: 2 });
      await b.next('read.ok');
      await a.next('message.read', (r) => r.userId === bob.id);

      b.send('typing', { conversationId: groupId, isTyping: true });
      await a.next('typing', (d) => d.isTyping === true);
      b.send('typing', { conversationId: groupId, isTyping: false });
      await a.next('typing', (d) => d.isTyping === false);

      expect(
        (await t.http.put(`/api/v1/messages/${first.id}/reactions/%F0%9F%91%8D`, undefined, { token: bob.accessToken }))
          .status,
      ).toBeLessThan(300);
      await a.next('reaction.updated', (r) => r.reactions.length === 1);
      // An edit of a message with reactions: rendered per viewer (`me`).
      expect(
        (await t.http.patch(`/api/v1/messages/${first.id}`, { content: 'edited' }, { token: alice.accessToken }))
          .status,
      ).toBe(200);
      await a.next('message.updated', (m) => m.editedAt !== null && m.reactions[0].me === false);
      await b.next('message.updated', (m) => m.reactions[0].me === true);
      const later = await sendMessage(t.http, alice, groupId, 'to delete');
      expect((await t.http.delete(`/api/v1/messages/${later.id}`, { token: alice.accessToken })).status).toBe(204);
      await b.next('message.deleted', (d) => d.messageId === later.id);

      const added = await t.http.post(
        `/api/v1/conversations/${groupId}/participants`,
        { userIds: [carol.id] },
        { token: alice.accessToken },
      );
      expect(added.status).toBeLessThan(300);
      await b.next('conversation.updated', (c) => c.lastMessage !== null && c.participants.length === 3);
      // Carol resumes: what she missed (being added) replayed, with its position, then `synced`.
      const c = await open(carol);
      c.send('sync', { since: carolSince });
      await c.next('synced');
      expect(c.of('conversation.updated')).toHaveLength(1);

      a.send('bogus.event', {});
      await a.next('error', (e) => e.code === 'unknown_event');
      a.send('message.send', { conversationId: randomUUID(), content: 'x', clientMessageId: 'docs-3' });
      await a.next('error', (e) => e.code === 'forbidden' && e.clientMessageId === 'docs-3');

      await b.close();
      await a.next('presence', (p) => p.userId === bob.id && p.status === 'offline');
      await a.barrier();

      const frames: Frame[] = sockets.flatMap((s) => s.frames);
      const failures = frames.flatMap((frame): { frame: Frame; errors: unknown }[] => {
        const validate = validators.get(frame.event);
        if (!validate) return [{ frame, errors: 'no server event of this name in the document' }];
        return validate(frame) ? [] : [{ frame, errors: validate.errors }];
      });
      expect(failures).toEqual([]);
      // The validators do reject what the document does not allow: a leaked field, a wrong type.
      const acked = frames.find((f) => f.event === 'message.ack')!;
      const ack = validators.get('message.ack')!;
      const message = acked.data.message;
      expect(ack({ ...acked, data: { ...acked.data, message: { ...message, seq: String(message.seq) } } })).toBe(false);
      expect(ack({ ...acked, data: { ...acked.data, message: { ...message, userIds: [] } } })).toBe(false);
      expect(ack({ ...acked, data: { ...acked.data, message: { ...message, content: null } } })).toBe(true);
      // A new server event fails here until this test provokes it.
      expect([...new Set(frames.map((f) => f.event))].sort()).toEqual([...SERVER_EVENTS].sort());
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
  });
});
