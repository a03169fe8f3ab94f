import { randomUUID } from 'node:crypto';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { craftJwt, nowSeconds } from './support/tokens';
import { connect, refused, wsUrl, type TestSocket } from './support/ws-client';

/** Docs/protocol.md §8 with real `ws` clients against the listening app. */
describe('WebSocket /ws (docs/protocol.md §8)', () => {
  let t: TestApp;
  const sockets: TestSocket[] = [];
  const open = async (user: RegisteredUser) => {
    const socket = await connect(t.baseUrl, user.accessToken);
    sockets.push(socket);
    return socket;
  };
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(() => t.close());

  describe('handshake', () => {
    it('sends `connected` first, with ?token=', async () => {
      const user = await registerUser(t.http);
      const socket = await open(user);
      expect(socket.frames[0]).toEqual({
        event: 'connected',
        data: {
          userId: user.id,
          connectionId: expect.any(String),
          serverTime: expect.any(String),
          heartbeatMs: 30_000,
        },
      });
    });

    it('accepts an Authorization: Bearer header', async () => {
      const user = await registerUser(t.http);
      const socket = await connect(t.baseUrl, '', { headers: { authorization: `Bearer ${user.accessToken}` } }).catch(
        () => undefined,
      );
      // An empty ?token= is no token; the header is used.
      expect(socket?.frames[0].event).toBe('connected');
      if (socket) sockets.push(socket);
    });

    it.each([
      ['no token', () => undefined],
      ['garbage', () => 'garbage'],
      [
        'a forged token',
        () => craftJwt({ sub: randomUUID(), typ: 'access', exp: nowSeconds() + 60 }, { secret: 'x'.repeat(40) }),
      ],
      ['an expired token', () => craftJwt({ sub: randomUUID(), typ: 'access', exp: nowSeconds() - 1 })],
      [
        'alg none',
        () => craftJwt({ sub: randomUUID(), typ: 'access', exp: nowSeconds() + 60 }, { alg: 'none', sign: false }),
      ],
    ])('closes with 4401 before any event for %s', async (_case, token) => {
      const result = await refused(wsUrl(t.baseUrl, token()));
      expect(result).toEqual({ code: 4401, reason: 'unauthorized', frames: [] });
    });

    it('destroys upgrades to any other path', async () => {
      const user = await registerUser(t.http);
      const result = await refused(`${wsUrl(t.baseUrl).replace('/ws', '/ws/')}?token=${user.accessToken}`).catch(
        (e) => e,
      );
      expect(result.code ?? 1006).toBe(1006);
    });
  });

  describe('bad frames get an error and the socket stays open', () => {
    it.each([
      ['invalid JSON', '{nope', 'bad_request'],
      ['a JSON array', '[1,2]', 'bad_request'],
      ['null', 'null', 'bad_request'],
      ['a string', '"ping"', 'bad_request'],
      ['no event', '{"data":{}}', 'bad_request'],
      ['a numeric event', '{"event":5,"data":{}}', 'bad_request'],
      ['data not an object', '{"event":"ping","data":[1]}', 'bad_request'],
      ['an unknown event', '{"event":"launch.missiles","data":{}}', 'unknown_event'],
      [
        'a prototype key',
        '{"event":"read","data":{"__proto__":{"x":1},"conversationId":"00000000-0000-4000-8000-000000000000","seq":1}}',
        'bad_request',
      ],
    ])('%s', async (_case, raw, code) => {
      const socket = await open(await registerUser(t.http));
      socket.sendRaw(raw);
      const error = await socket.next('error');
      expect(error.data).toMatchObject({ code, message: expect.any(String) });
      socket.send('ping');
      expect((await socket.next('pong')).data).toEqual({ serverTime: expect.any(String) });
    });

    it('binary frames', async () => {
      const socket = await open(await registerUser(t.http));
      socket.sendRaw(Buffer.from([1, 2, 3]));
      expect((await socket.next('error')).data.code).toBe('bad_request');
    });

    it.each([
      ['typing', { conversationId: 'x', isTyping: true }],
      ['typing', { conversationId: randomUUID(), isTyping: 'yes' }],
      ['read', { conversationId: randomUUID(), seq: -1 }],
      ['read', { conversationId: randomUUID() }],
      ['delivered', { conversationId: randomUUID(), seq: 1.5 }],
      ['message.send', { conversationId: randomUUID(), content: 'hi' }],
      ['message.send', { conversationId: randomUUID(), content: 5, clientMessageId: 'c1' }],
      ['message.send', { conversationId: randomUUID(), content: 'a\u0000b', clientMessageId: 'c1' }],
      ['auth', {}],
      ['read', { conversationId: randomUUID(), seq: 1, extra: true }],
    ])('wrong shape for %s: %j', async (event, data) => {
      const socket = await open(await registerUser(t.http));
      socket.send(event, data);
      const error = await socket.next('error');
      expect(error.data).toMatchObject({ code: 'bad_request', event });
      expect(JSON.stringify(error)).not.toContain('"exception"');
    });

    it("never answers with Nest's `exception` event or echoes the frame", async () => {
      const socket = await open(await registerUser(t.http));
      socket.send('read', { conversationId: 'secret-value', seq: 'x' });
      const error = await socket.next('error');
      expect(Object.keys(error.data).sort()).toEqual(['code', 'event', 'message']);
      await socket.barrier();
      expect(socket.of('exception')).toEqual([]);
    });
  });

  describe('message.send', () => {
    it("acks, pushes message.created to every socket of every participant (sender's other devices too) and nobody else", async () => {
      const [alice, bob, eve] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await openDirect(t.http, alice, bob);
      const [aliceA, aliceB, bobA, bobB, eveA] = await Promise.all([
        open(alice),
        open(alice),
        open(bob),
        open(bob),
        open(eve),
      ]);
      aliceA.send('message.send', { conversationId: id, content: 'hi all', clientMessageId: 'ws-1' });
      const ack = await aliceA.next('message.ack');
      expect(ack.data).toEqual({
        clientMessageId: 'ws-1',
        message: expect.objectContaining({ conversationId: id, seq: 1, content: 'hi all', senderId: alice.id }),
      });
      for (const socket of [aliceA, aliceB, bobA, bobB]) {
        expect((await socket.next('message.created')).data).toEqual(ack.data.message);
      }
      await eveA.barrier();
      expect(eveA.of('message.created')).toEqual([]);
    });

    it('is idempotent like REST: the same clientMessageId acks the same message, no second push', async () => {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, alice, bob);
      const [a, b] = await Promise.all([open(alice), open(bob)]);
      a.send('message.send', { conversationId: id, content: 'once', clientMessageId: 'same' });
      const first = await a.next('message.ack');
      a.send('message.send', { conversationId: id, content: 'once', clientMessageId: 'same' });
      const second = await a.next('message.ack');
      expect(second.data).toEqual(first.data);
      a.send('message.send', { conversationId: id, content: 'other', clientMessageId: 'same' });
      expect((await a.next('error')).data).toMatchObject({
        code: 'conflict',
        clientMessageId: 'same',
        event: 'message.send',
      });
      await b.barrier();
      expect(b.of('message.created')).toHaveLength(1);
    });

    it('answers forbidden, with the clientMessageId, for a conversation the user is not in', async () => {
      const [alice, bob, eve] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await openDirect(t.http, alice, bob);
      const socket = await open(eve);
      socket.send('message.send', { conversationId: id, content: 'intrude', clientMessageId: 'x-1' });
      expect((await socket.next('error')).data).toEqual({
        code: 'forbidden',
        message: expect.any(String),
        event: 'message.send',
        clientMessageId: 'x-1',
      });
      socket.send('message.send', { conversationId: randomUUID(), content: 'nowhere', clientMessageId: 'x-2' });
      expect((await socket.next('error')).data).toMatchObject({ code: 'forbidden', clientMessageId: 'x-2' });
    });

    it('shares the send limit with REST', async () => {
      const app = await startTestApp({ RATE_SEND_PER_SEC: '2' });
      try {
        const [alice, bob] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
        const id = await openDirect(app.http, alice, bob);
        await sendMessage(app.http, alice, id, 'rest 1');
        await sendMessage(app.http, alice, id, 'rest 2');
        const socket = await connect(app.baseUrl, alice.accessToken);
        socket.send('message.send', { conversationId: id, content: 'ws', clientMessageId: 'lim-1' });
        expect((await socket.next('error')).data).toMatchObject({ code: 'rate_limited', clientMessageId: 'lim-1' });
        await socket.close();
      } finally {
        await app.close();
      }
    });
  });

  describe('REST changes are pushed', () => {
    it('message.created/updated/deleted, reaction.updated (with `me` per viewer), message.read', async () => {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, alice, bob);
      const [a, b] = await Promise.all([open(alice), open(bob)]);
      const message = await sendMessage(t.http, alice, id, 'v1');
      expect((await b.next('message.created')).data).toEqual(message);

      await t.http.patch(`/api/v1/messages/${message.id}`, { content: 'v2' }, { token: alice.accessToken });
      expect((await b.next('message.updated')).data).toMatchObject({
        id: message.id,
        content: 'v2',
        editedAt: expect.any(String),
      });

      await t.http.put(`/api/v1/messages/${message.id}/reactions/${encodeURIComponent('🔥')}`, undefined, {
        token: bob.accessToken,
      });
      expect((await b.next('reaction.updated')).data).toEqual({
        conversationId: id,
        messageId: message.id,
        reactions: [{ emoji: '🔥', count: 1, me: true }],
      });
      expect((await a.next('reaction.updated')).data.reactions).toEqual([{ emoji: '🔥', count: 1, me: false }]);

      await t.http.post(`/api/v1/conversations/${id}/read`, { seq: 1 }, { token: bob.accessToken });
      expect((await a.next('message.read')).data).toEqual({
        conversationId: id,
        userId: bob.id,
        seq: 1,
        readAt: expect.any(String),
      });

      await t.http.delete(`/api/v1/messages/${message.id}`, { token: alice.accessToken });
      expect((await b.next('message.deleted')).data).toEqual({ conversationId: id, messageId: message.id, seq: 1 });
    });

    it('conversation.created/updated reach members, including those just added', async () => {
      const [owner, m1, m2] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const [o, s1, s2] = await Promise.all([open(owner), open(m1), open(m2)]);
      const id = await createGroup(t.http, owner, [m1]);
      expect((await s1.next('conversation.created')).data).toMatchObject({ id, type: 'group', unreadCount: 0 });
      await o.next('conversation.created');
      await t.http.post(`/api/v1/conversations/${id}/participants`, { userIds: [m2.id] }, { token: owner.accessToken });
      const updated = await s2.next('conversation.updated');
      expect(updated.data.participants.map((p: { id: string }) => p.id).sort()).toEqual(
        [owner.id, m1.id, m2.id].sort(),
      );
      expect(updated.data.participants.find((p: { id: string }) => p.id === owner.id).online).toBe(true);
    });
  });

  describe('read and delivered', () => {
    it('read answers read.ok and others see message.read', async () => {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, alice, bob);
      await sendMessage(t.http, alice, id, 'one');
      await sendMessage(t.http, alice, id, 'two');
      const [a, b] = await Promise.all([open(alice), open(bob)]);
      b.send('read', { conversationId: id, seq: 2 });
      expect((await b.next('read.ok')).data).toEqual({ conversationId: id, lastReadSeq: 2 });
      expect((await a.next('message.read')).data).toMatchObject({ userId: bob.id, seq: 2 });
      b.send('read', { conversationId: randomUUID(), seq: 1 });
      expect((await b.next('error')).data).toMatchObject({ code: 'forbidden', event: 'read' });
    });

    it('delivered tells the senders of the messages up to seq', async () => {
      const [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, alice, [bob, carol]);
      await sendMessage(t.http, alice, id, 'from alice');
      await sendMessage(t.http, carol, id, 'from carol');
      const [a, b, c] = await Promise.all([open(alice), open(bob), open(carol)]);
      b.send('delivered', { conversationId: id, seq: 2 });
      expect((await a.next('message.delivered')).data).toEqual({ conversationId: id, userId: bob.id, seq: 2 });
      expect((await c.next('message.delivered')).data).toEqual({ conversationId: id, userId: bob.id, seq: 2 });
      await b.barrier();
      expect(b.of('message.delivered')).toEqual([]);
    });

    it('does not tell a sender who has left', async () => {
      const [alice, bob, carol] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, alice, [bob, carol]);
      await sendMessage(t.http, carol, id, 'then leaves');
      await sendMessage(t.http, alice, id, 'stays');
      await t.http.delete(`/api/v1/conversations/${id}/participants/${carol.id}`, { token: carol.accessToken });
      const [a, b, c] = await Promise.all([open(alice), open(bob), open(carol)]);
      b.send('delivered', { conversationId: id, seq: 2 });
      await a.next('message.delivered');
      await c.barrier();
      expect(c.of('message.delivered')).toEqual([]);
    });
  });

  describe('typing', () => {
    let app: TestApp;
    beforeAll(async () => {
      app = await startTestApp({ TYPING_TTL_MS: '300' });
    });
    afterAll(() => app.close());

    it("reaches others (never the typist's devices), refreshes without re-broadcast, and expires with isTyping:false", async () => {
      const [alice, bob] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
      const id = await openDirect(app.http, alice, bob);
      const [a1, a2, b] = await Promise.all([
        connect(app.baseUrl, alice.accessToken),
        connect(app.baseUrl, alice.accessToken),
        connect(app.baseUrl, bob.accessToken),
      ]);
      a1.send('typing', { conversationId: id, isTyping: true });
      expect((await b.next('typing')).data).toEqual({ conversationId: id, userId: alice.id, isTyping: true });
      a1.send('typing', { conversationId: id, isTyping: true }); // a refresh
      const stopped = await b.next('typing');
      expect(stopped.data).toEqual({ conversationId: id, userId: alice.id, isTyping: false });
      expect(b.of('typing').map((f) => f.data.isTyping)).toEqual([true, false]);
      await a2.barrier();
      expect(a2.of('typing')).toEqual([]);
      await Promise.all([a1.close(), a2.close(), b.close()]);
    });

    it('isTyping:false ends it at once; closing the last socket ends it too', async () => {
      const [alice, bob] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
      const id = await openDirect(app.http, alice, bob);
      const [a, b] = await Promise.all([
        connect(app.baseUrl, alice.accessToken),
        connect(app.baseUrl, bob.accessToken),
      ]);
      a.send('typing', { conversationId: id, isTyping: true });
      await b.next('typing', (d) => d.isTyping);
      a.send('typing', { conversationId: id, isTyping: false });
      await b.next('typing', (d) => !d.isTyping);
      a.send('typing', { conversationId: id, isTyping: true });
      await b.next('typing', (d) => d.isTyping);
      await a.close();
      await b.next('typing', (d) => !d.isTyping);
      await b.close();
    });

    it('ends the indicator of a typist removed from the conversation', async () => {
      // A TTL far longer than the test, so that only the removal can end it.
      const long = await startTestApp({ TYPING_TTL_MS: '600000' });
      try {
        const [owner, typistUser, watcherUser] = await Promise.all([0, 1, 2].map(() => registerUser(long.http)));
        const id = await createGroup(long.http, owner, [typistUser, watcherUser]);
        const [typist, watcher] = await Promise.all([
          connect(long.baseUrl, typistUser.accessToken),
          connect(long.baseUrl, watcherUser.accessToken),
        ]);
        typist.send('typing', { conversationId: id, isTyping: true });
        await watcher.next('typing', (d) => d.isTyping);
        await long.http.delete(`/api/v1/conversations/${id}/participants/${typistUser.id}`, {
          token: owner.accessToken,
        });
        expect((await watcher.next('typing')).data).toEqual({
          conversationId: id,
          userId: typistUser.id,
          isTyping: false,
        });
        await Promise.all([typist.close(), watcher.close()]);
      } finally {
        await long.close();
      }
    });

    it.each([true, false])(
      'answers forbidden for a conversation the user is not in (isTyping: %s)',
      async (isTyping) => {
        const [alice, bob, eve] = await Promise.all([0, 1, 2].map(() => registerUser(app.http)));
        const id = await openDirect(app.http, alice, bob);
        const socket = await connect(app.baseUrl, eve.accessToken);
        socket.send('typing', { conversationId: id, isTyping });
        expect((await socket.next('error')).data).toMatchObject({ code: 'forbidden', event: 'typing' });
        socket.send('typing', { conversationId: randomUUID(), isTyping });
        expect((await socket.next('error')).data).toMatchObject({ code: 'forbidden', event: 'typing' });
        await socket.close();
      },
    );

    it('answers nothing to a member who ends an indicator that was not on', async () => {
      const [alice, bob] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
      const id = await openDirect(app.http, alice, bob);
      const [a, b] = await Promise.all([
        connect(app.baseUrl, alice.accessToken),
        connect(app.baseUrl, bob.accessToken),
      ]);
      a.send('typing', { conversationId: id, isTyping: false });
      await a.barrier();
      await b.barrier();
      expect(a.frames.filter((f) => f.event === 'error' || f.event === 'typing')).toEqual([]);
      expect(b.of('typing')).toEqual([]);
      await Promise.all([a.close(), b.close()]);
    });
  });

  describe('auth on a live socket', () => {
    it('renews with auth {token}: auth.ok and the socket outlives the old token', async () => {
      const user = await registerUser(t.http);
      const shortLived = craftJwt({ sub: user.id, typ: 'access', exp: nowSeconds() + 2 });
      const socket = await connect(t.baseUrl, shortLived);
      sockets.push(socket);
      socket.send('auth', { token: user.accessToken });
      const ok = await socket.next('auth.ok');
      expect(new Date(ok.data.expiresAt).getTime()).toBeGreaterThan(Date.now() + 60_000);
      // Past the first token's expiry (a time, not an event) the socket still answers.
      await new Promise((resolve) => setTimeout(resolve, (nowSeconds() + 3) * 1000 - Date.now()));
      socket.send('ping');
      await socket.next('pong');
    });

    it('at expiry sends error token_expired and closes 4401', async () => {
      const user = await registerUser(t.http);
      const socket = await connect(t.baseUrl, craftJwt({ sub: user.id, typ: 'access', exp: nowSeconds() + 2 }));
      expect((await socket.next('error')).data).toMatchObject({ code: 'token_expired' });
      expect((await socket.closed).code).toBe(4401);
    });

    it.each([
      ['a bad token', () => 'garbage'],
      ["another user's token", async () => (await registerUser(t.http)).accessToken],
    ])('answers %s with error unauthorized and close 4401', async (_case, token) => {
      const user = await registerUser(t.http);
      const socket = await connect(t.baseUrl, user.accessToken);
      socket.send('auth', { token: await token() });
      expect((await socket.next('error')).data).toMatchObject({ code: 'unauthorized', event: 'auth' });
      expect((await socket.closed).code).toBe(4401);
    });
  });

  describe('limits', () => {
    it('closes a frame over WS_MAX_FRAME_BYTES with 1009', async () => {
      const app = await startTestApp({ WS_MAX_FRAME_BYTES: '2048' });
      try {
        const socket = await connect(app.baseUrl, (await registerUser(app.http)).accessToken);
        socket.send('ping', { pad: 'x'.repeat(1000) });
        await socket.next('pong'); // under the limit: answered
        socket.send('ping', { pad: 'x'.repeat(3000) });
        expect((await socket.closed).code).toBe(1009);
      } finally {
        await app.close();
      }
    });

    it.each([
      ['a frame over WS_MAX_FRAME_BYTES', 1009, (socket: TestSocket) => socket.send('ping', { pad: 'x'.repeat(3000) })],
      [
        'an invalid UTF-8 text frame',
        1007,
        (socket: TestSocket) => socket.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false }),
      ],
    ])('logs %s as a warning naming the connection, without a stack', async (_case, code, violate) => {
      const app = await startTestApp({ WS_MAX_FRAME_BYTES: '2048' });
      try {
        const socket = await connect(app.baseUrl, (await registerUser(app.http)).accessToken);
        const { connectionId } = socket.frames[0].data;
        violate(socket);
        expect((await socket.closed).code).toBe(code);
        const lines = app.logs.filter((l) => l.msg === 'closed a WebSocket for a protocol violation');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ level: 40, connectionId });
        expect(JSON.stringify(lines[0])).not.toContain('stack');
        expect(app.logs.filter((l) => l.level >= 50)).toEqual([]);
      } finally {
        await app.close();
      }
    });

    it('answers rate_limited past RATE_WS_PER_SEC and keeps the socket; closes only a flood far past it with 1008', async () => {
      const app = await startTestApp({ RATE_WS_PER_SEC: '5' });
      try {
        const socket = await connect(app.baseUrl, (await registerUser(app.http)).accessToken);
        for (let i = 0; i < 30; i++) socket.send('ping'); // 6x the limit in a burst
        await socket.next('error', (d) => d.code === 'rate_limited');
        expect(socket.of('pong').length + socket.of('error').length).toBeLessThanOrEqual(10); // a second's worth of answers
        expect(socket.ws.readyState).toBe(socket.ws.OPEN);
        for (let i = 0; i < 100; i++) socket.send('ping'); // keeps flooding: past 10x the limit
        expect((await socket.closed).code).toBe(1008);
      } finally {
        await app.close();
      }
    });

    it('closes one socket more than MAX_CONNECTIONS_PER_USER with 4429', async () => {
      const app = await startTestApp({ MAX_CONNECTIONS_PER_USER: '2' });
      try {
        const user = await registerUser(app.http);
        const [s1, s2] = await Promise.all([
          connect(app.baseUrl, user.accessToken),
          connect(app.baseUrl, user.accessToken),
        ]);
        expect(await refused(wsUrl(app.baseUrl, user.accessToken))).toMatchObject({ code: 4429, frames: [] });
        await s1.close();
        const s3 = await connect(app.baseUrl, user.accessToken);
        await Promise.all([s2.close(), s3.close()]);
      } finally {
        await app.close();
      }
    });
  });

  it('keeps seq order per socket with four concurrent senders', async () => {
    const users = await Promise.all([0, 1, 2, 3, 4].map(() => registerUser(t.http)));
    const id = await createGroup(t.http, users[0], users.slice(1));
    const listeners = await Promise.all(users.map((u) => open(u)));
    const senders = await Promise.all(users.slice(0, 4).map((u) => open(u)));
    const perSender = 25;
    senders.forEach((socket, s) => {
      for (let i = 0; i < perSender; i++)
        socket.send('message.send', { conversationId: id, content: `s${s}-${i}`, clientMessageId: `o-${s}-${i}` });
    });
    for (const socket of listeners) {
      await socket.next('message.created', (d) => d.seq === 4 * perSender);
      const seqs = socket
        .of('message.created')
        .filter((f) => f.data.conversationId === id)
        .map((f) => f.data.seq);
      expect(seqs).toEqual(Array.from({ length: 4 * perSender }, (_, i) => i + 1));
    }
  });

  it("keeps seq order from a conversation's first message, first sends racing over REST and WebSocket", async () => {
    // Its own app: 15 sends per socket and round, rounds as fast as the server goes, would
    // pass RATE_WS_PER_SEC (50) whenever four rounds fit in a second. Order is what is tested.
    const own = await startTestApp({ RATE_WS_PER_SEC: '1000' });
    try {
      await racingFirstSends(own);
    } finally {
      await own.close();
    }
  });

  async function racingFirstSends(t: TestApp): Promise<void> {
    const open = async (user: RegisteredUser) => {
      const socket = await connect(t.baseUrl, user.accessToken);
      sockets.push(socket);
      return socket;
    };
    const users = await Promise.all([0, 1, 2, 3].map(() => registerUser(t.http)));
    const listeners = await Promise.all(users.slice(1).map((u) => open(u)));
    const ws = await Promise.all(users.map((u) => open(u)));
    // A race is not lost every time: five rounds of 20 new groups each.
    for (let round = 0; round < 5; round++) {
      const groups = await Promise.all(Array.from({ length: 20 }, () => createGroup(t.http, users[0], users.slice(1))));
      const sends = groups.flatMap((id, g) =>
        Array.from({ length: 6 }, (_, i) => {
          if (i % 2) {
            ws[(g + i) % ws.length].send('message.send', {
              conversationId: id,
              content: 'ws',
              clientMessageId: `f-${id}-${i}`,
            });
            return Promise.resolve();
          }
          return sendMessage(t.http, users[i % 4], id, 'rest');
        }),
      );
      await Promise.all(sends);
      for (const socket of listeners) {
        for (const id of groups) await socket.next('message.created', (d) => d.conversationId === id && d.seq === 6);
        await socket.barrier();
        const outOfOrder = groups.filter(
          (id) =>
            socket
              .of('message.created')
              .filter((f) => f.data.conversationId === id)
              .map((f) => f.data.seq)
              .join() !== '1,2,3,4,5,6',
        );
        expect({ round, outOfOrder }).toEqual({ round, outOfOrder: [] });
      }
    }
    // Put in order without waiting out a missing seq: every predecessor did come.
    expect((await t.http.get('/metrics')).text).toMatch(/^ws_order_waits_expired_total 0$/m);
  }
});
