import { randomUUID } from 'node:crypto';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { recordEvents } from './support/events';
import { startTestApp, type TestApp } from './support/test-app';

describe('messages (docs/protocol.md §7)', () => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let mallory: RegisteredUser;
  let direct: string;
  beforeAll(async () => {
    t = await startTestApp();
    [alice, bob, mallory] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
    direct = await openDirect(t.http, alice, bob);
  });
  afterAll(() => t.close());

  const send = (who: RegisteredUser, conversationId: string, body: unknown) =>
    t.http.post(`/api/v1/conversations/${conversationId}/messages`, body, { token: who.accessToken });
  const history = (who: RegisteredUser, conversationId: string, query = '') =>
    t.http.get(`/api/v1/conversations/${conversationId}/messages${query}`, { token: who.accessToken });

  describe('POST /conversations/:id/messages', () => {
    it('stores the message as sent and answers 201 with the contract shape', async () => {
      const id = await openDirect(t.http, alice, await registerUser(t.http));
      const content = '  <b>hi</b> & "bye"\n😀  ';
      const res = await send(alice, id, { content, clientMessageId: 'c-1' });
      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        conversationId: id,
        seq: 1,
        senderId: alice.id,
        content,
        clientMessageId: 'c-1',
        replyToId: null,
        createdAt: expect.stringMatching(/Z$/),
        editedAt: null,
        deleted: false,
        reactions: [],
      });
    });

    it('emits message.created once, after commit, to every participant', async () => {
      const rec = recordEvents(t);
      const res = await send(alice, direct, { content: 'evented' });
      rec.stop();
      const events = rec.of('message.created');
      expect(events).toHaveLength(1);
      expect(events[0].payload.recipients.sort()).toEqual([alice.id, bob.id].sort());
      expect(events[0].payload.message).toMatchObject({ id: res.body.id, seq: res.body.seq, content: 'evented' });
    });

    it('a retry with the same clientMessageId answers 200 with the same message: no row, no event, no seq', async () => {
      const id = await openDirect(t.http, bob, await registerUser(t.http));
      const first = await send(bob, id, { content: 'once', clientMessageId: 'retry-1' });
      const rec = recordEvents(t);
      const again = await send(bob, id, { content: 'once', clientMessageId: 'retry-1' });
      rec.stop();
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      expect(rec.events).toHaveLength(0);
      const next = await send(bob, id, { content: 'next' });
      expect(next.body.seq).toBe(2);
    });

    it('treats an upper-case conversation id as the same conversation (retry, events)', async () => {
      const id = await openDirect(t.http, alice, await registerUser(t.http));
      const rec = recordEvents(t);
      const first = await send(alice, id.toUpperCase(), { content: 'case', clientMessageId: 'case-1' });
      const retry = await send(alice, id.toUpperCase(), { content: 'case', clientMessageId: 'case-1' });
      await t.http.post(`/api/v1/conversations/${id.toUpperCase()}/read`, { seq: 1 }, { token: alice.accessToken });
      rec.stop();
      expect([first.status, retry.status]).toEqual([201, 200]);
      expect(first.body.conversationId).toBe(id);
      expect(rec.of('message.created')[0].payload.conversationId).toBe(id);
    });

    it('a clientMessageId reused with other content or elsewhere is 409; another sender may use it', async () => {
      const other = await openDirect(t.http, alice, mallory);
      await send(alice, direct, { content: 'original', clientMessageId: 'dup-1' });
      expect((await send(alice, direct, { content: 'changed', clientMessageId: 'dup-1' })).status).toBe(409);
      expect((await send(alice, other, { content: 'original', clientMessageId: 'dup-1' })).status).toBe(409);
      expect((await send(bob, direct, { content: 'original', clientMessageId: 'dup-1' })).status).toBe(201);
    });

    it('replies to a message of the same conversation only', async () => {
      const target = await sendMessage(t.http, bob, direct, 'question');
      const reply = await send(alice, direct, { content: 'answer', replyToId: target.id });
      expect(reply.status).toBe(201);
      expect(reply.body.replyToId).toBe(target.id);
      const elsewhere = await sendMessage(t.http, mallory, await openDirect(t.http, mallory, alice), 'elsewhere');
      expect((await send(alice, direct, { content: 'x', replyToId: elsewhere.id })).status).toBe(400);
      expect((await send(alice, direct, { content: 'x', replyToId: randomUUID() })).status).toBe(400);
    });

    it('answers 404 to outsiders and for unknown conversations, and stores nothing', async () => {
      const before = await history(alice, direct);
      expect((await send(mallory, direct, { content: 'intrusion' })).status).toBe(404);
      expect((await send(mallory, randomUUID(), { content: 'nowhere' })).status).toBe(404);
      expect((await history(alice, direct)).body.items.length).toBe(before.body.items.length);
    });

    it('counts characters, not UTF-16 units, against MESSAGE_MAX_LENGTH, after trimming', async () => {
      const small = await startTestApp({ MESSAGE_MAX_LENGTH: '5' });
      try {
        const [x, y] = await Promise.all([registerUser(small.http), registerUser(small.http)]);
        const id = await openDirect(small.http, x, y);
        const post = (content: string) =>
          small.http.post(`/api/v1/conversations/${id}/messages`, { content }, { token: x.accessToken });
        expect((await post('😀😀😀😀😀')).status).toBe(201);
        expect((await post('   abcde   ')).status).toBe(201);
        const tooLong = await post('abcdef');
        expect(tooLong.status).toBe(400);
        expect(tooLong.body.message).toEqual(['content must be 1 to 5 characters after trimming']);
      } finally {
        await small.close();
      }
    });

    it.each([
      ['no content', {}],
      ['empty content', { content: '' }],
      ['whitespace only', { content: ' \n\t ' }],
      ['content over the default limit', { content: 'x'.repeat(4001) }],
      ['numeric content', { content: 12 }],
      ['null content', { content: null }],
      ['array content', { content: ['hi'] }],
      ['object content', { content: { text: 'hi' } }],
      ['a NUL byte', { content: 'a\u0000b' }],
      ['a bad clientMessageId', { content: 'x', clientMessageId: 'has space' }],
      ['a long clientMessageId', { content: 'x', clientMessageId: 'c'.repeat(65) }],
      ['a numeric clientMessageId', { content: 'x', clientMessageId: 5 }],
      ['a non-uuid replyToId', { content: 'x', replyToId: 'nope' }],
      ['an unknown property', { content: 'x', seq: 1 }],
    ])('answers 400 for %s', async (_case, body) => {
      const res = await send(alice, direct, body);
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('Bad Request');
    });

    it('answers 400 for a non-uuid conversation id', async () => {
      expect((await send(alice, 'abc', { content: 'x' })).status).toBe(400);
    });
  });

  describe('GET /conversations/:id/messages', () => {
    let conversation: string;
    beforeAll(async () => {
      conversation = await openDirect(t.http, alice, await registerUser(t.http));
      for (let i = 1; i <= 7; i++) await sendMessage(t.http, alice, conversation, `m${i}`);
    });
    const seqs = (res: { body: { items: { seq: number }[] } }) => res.body.items.map((m) => m.seq);

    it('returns the latest page in ascending seq, default limit 50', async () => {
      const res = await history(alice, conversation);
      expect(res.status).toBe(200);
      expect(seqs(res)).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(res.body.hasMore).toBe(false);
    });

    it('pages backwards with before', async () => {
      const page1 = await history(alice, conversation, '?limit=3');
      expect([seqs(page1), page1.body.hasMore]).toEqual([[5, 6, 7], true]);
      const page2 = await history(alice, conversation, '?limit=3&before=5');
      expect([seqs(page2), page2.body.hasMore]).toEqual([[2, 3, 4], true]);
      const page3 = await history(alice, conversation, '?limit=3&before=2');
      expect([seqs(page3), page3.body.hasMore]).toEqual([[1], false]);
    });

    it('catches up with after, oldest first', async () => {
      const page = await history(alice, conversation, '?after=2&limit=3');
      expect([seqs(page), page.body.hasMore]).toEqual([[3, 4, 5], true]);
      const rest = await history(alice, conversation, '?after=5&limit=3');
      expect([seqs(rest), rest.body.hasMore]).toEqual([[6, 7], false]);
      expect((await history(alice, conversation, '?after=7')).body).toEqual({ items: [], hasMore: false });
    });

    it('takes both bounds as a range', async () => {
      expect(seqs(await history(alice, conversation, '?after=2&before=6'))).toEqual([3, 4, 5]);
    });

    it('answers 404 to outsiders', async () => {
      expect((await history(mallory, conversation)).status).toBe(404);
    });

    it.each([
      'limit=0',
      'limit=101',
      'limit=x',
      'before=-1',
      'after=abc',
      'after=1e3',
      'before=99999999999',
      'after=1&after=2',
      'order=desc',
    ])('answers 400 for %s', async (query) => {
      expect((await history(alice, conversation, `?${query}`)).status).toBe(400);
    });
  });

  describe('PATCH /messages/:id', () => {
    it('lets the sender edit: content, editedAt, and one message.updated', async () => {
      const message = await sendMessage(t.http, alice, direct, 'draft');
      const rec = recordEvents(t);
      const res = await t.http.patch(
        `/api/v1/messages/${message.id}`,
        { content: 'final' },
        { token: alice.accessToken },
      );
      const same = await t.http.patch(
        `/api/v1/messages/${message.id}`,
        { content: 'final' },
        { token: alice.accessToken },
      );
      rec.stop();
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        id: message.id,
        seq: message.seq,
        content: 'final',
        editedAt: expect.any(String),
      });
      expect(same.status).toBe(200);
      expect(rec.of('message.updated')).toHaveLength(1);
      expect(rec.of('message.updated')[0].payload.message.content).toBe('final');
    });

    it('answers 403 to another participant, 404 to outsiders and unknown ids', async () => {
      const message = await sendMessage(t.http, alice, direct, 'mine');
      expect(
        (await t.http.patch(`/api/v1/messages/${message.id}`, { content: 'x' }, { token: bob.accessToken })).status,
      ).toBe(403);
      expect(
        (await t.http.patch(`/api/v1/messages/${message.id}`, { content: 'x' }, { token: mallory.accessToken })).status,
      ).toBe(404);
      expect(
        (await t.http.patch(`/api/v1/messages/${randomUUID()}`, { content: 'x' }, { token: alice.accessToken })).status,
      ).toBe(404);
    });

    it('answers 403 once the edit window is over', async () => {
      const short = await startTestApp({ EDIT_WINDOW_MS: '0' });
      try {
        const [x, y] = await Promise.all([registerUser(short.http), registerUser(short.http)]);
        const message = await sendMessage(short.http, x, await openDirect(short.http, x, y), 'late');
        const res = await short.http.patch(
          `/api/v1/messages/${message.id}`,
          { content: 'edit' },
          { token: x.accessToken },
        );
        expect(res.status).toBe(403);
        expect(res.body.message).toContain('edit window');
      } finally {
        await short.close();
      }
    });

    it.each([
      [{}],
      [{ content: '' }],
      [{ content: 3 }],
      [{ content: 'x'.repeat(4001) }],
      [{ content: 'ok', extra: 1 }],
      [{ content: 'a\u0000' }],
    ])('answers 400 for %j', async (body) => {
      const message = await sendMessage(t.http, alice, direct, 'to edit');
      expect((await t.http.patch(`/api/v1/messages/${message.id}`, body, { token: alice.accessToken })).status).toBe(
        400,
      );
    });
  });

  describe('DELETE /messages/:id', () => {
    it('soft-deletes: 204, seq kept, content and reactions gone everywhere, one event', async () => {
      const message = await sendMessage(t.http, alice, direct, 'secret');
      await t.http.put(`/api/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, undefined, {
        token: bob.accessToken,
      });
      const rec = recordEvents(t);
      const res = await t.http.delete(`/api/v1/messages/${message.id}`, { token: alice.accessToken });
      const again = await t.http.delete(`/api/v1/messages/${message.id}`, { token: alice.accessToken });
      rec.stop();
      expect([res.status, again.status]).toEqual([204, 204]);
      expect(rec.of('message.deleted').map((e) => e.payload)).toEqual([
        {
          recipients: expect.arrayContaining([alice.id, bob.id]),
          change: { xid: expect.stringMatching(/^\d+$/), pos: expect.any(Number) },
          conversationId: direct,
          messageId: message.id,
          seq: message.seq,
        },
      ]);
      const page = await history(bob, direct, `?after=${message.seq - 1}&limit=1`);
      expect(page.body.items[0]).toMatchObject({
        id: message.id,
        seq: message.seq,
        deleted: true,
        content: null,
        reactions: [],
      });
      expect(JSON.stringify(page.body)).not.toContain('secret');
      expect(
        (await t.http.patch(`/api/v1/messages/${message.id}`, { content: 'back' }, { token: alice.accessToken }))
          .status,
      ).toBe(403);
      expect(
        (
          await t.http.put(`/api/v1/messages/${message.id}/reactions/${encodeURIComponent('👍')}`, undefined, {
            token: bob.accessToken,
          })
        ).status,
      ).toBe(403);
    });

    it("lets a group owner delete anyone's message, but not a member someone else's", async () => {
      const [owner, m1, m2] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const group = await createGroup(t.http, owner, [m1, m2]);
      const byM1 = await sendMessage(t.http, m1, group, 'spam');
      expect((await t.http.delete(`/api/v1/messages/${byM1.id}`, { token: m2.accessToken })).status).toBe(403);
      expect((await t.http.delete(`/api/v1/messages/${byM1.id}`, { token: owner.accessToken })).status).toBe(204);
    });

    it('answers 404 to outsiders and unknown ids; 400 to a non-uuid', async () => {
      const message = await sendMessage(t.http, alice, direct, 'keep');
      expect((await t.http.delete(`/api/v1/messages/${message.id}`, { token: mallory.accessToken })).status).toBe(404);
      expect((await t.http.delete(`/api/v1/messages/${randomUUID()}`, { token: alice.accessToken })).status).toBe(404);
      expect((await t.http.delete('/api/v1/messages/123', { token: alice.accessToken })).status).toBe(400);
      expect((await history(alice, direct, `?after=${message.seq - 1}&limit=1`)).body.items[0].content).toBe('keep');
    });
  });

  describe('reactions', () => {
    const path = (id: string, emoji: string) => `/api/v1/messages/${id}/reactions/${encodeURIComponent(emoji)}`;

    it('adds idempotently, counts per emoji, shows `me` per viewer, emits only on change', async () => {
      const message = await sendMessage(t.http, alice, direct, 'react to me');
      const rec = recordEvents(t);
      const first = await t.http.put(path(message.id, '👍'), undefined, { token: alice.accessToken });
      await t.http.put(path(message.id, '👍'), undefined, { token: alice.accessToken });
      await t.http.put(path(message.id, '👍'), undefined, { token: bob.accessToken });
      const hearts = await t.http.put(path(message.id, '❤️'), undefined, { token: bob.accessToken });
      rec.stop();
      expect(first.status).toBe(200);
      expect(first.body).toEqual({
        conversationId: direct,
        messageId: message.id,
        reactions: [{ emoji: '👍', count: 1, me: true }],
      });
      expect(hearts.body.reactions).toEqual([
        { emoji: '👍', count: 2, me: true },
        { emoji: '❤', count: 1, me: true },
      ]);
      expect(rec.of('reaction.updated')).toHaveLength(3);
      const forAlice = await history(alice, direct, `?after=${message.seq - 1}&limit=1`);
      expect(forAlice.body.items[0].reactions).toEqual([
        { emoji: '👍', count: 2, me: true },
        { emoji: '❤', count: 1, me: false },
      ]);
    });

    it('removes idempotently', async () => {
      const message = await sendMessage(t.http, alice, direct, 'unreact');
      await t.http.put(path(message.id, '🎉'), undefined, { token: bob.accessToken });
      const rec = recordEvents(t);
      const removed = await t.http.delete(path(message.id, '🎉'), { token: bob.accessToken });
      const again = await t.http.delete(path(message.id, '🎉'), { token: bob.accessToken });
      rec.stop();
      expect([removed.status, again.status]).toEqual([200, 200]);
      expect(removed.body.reactions).toEqual([]);
      expect(rec.of('reaction.updated')).toHaveLength(1);
    });

    it.each(['a', 'ok', '👍👍', ':thumbsup:', '1', '%00', 'x'.repeat(100)])(
      'answers 400 for the emoji %j',
      async (emoji) => {
        const message = await sendMessage(t.http, alice, direct, 'junk reactions');
        const url = emoji === '%00' ? `/api/v1/messages/${message.id}/reactions/%00` : path(message.id, emoji);
        expect((await t.http.put(url, undefined, { token: alice.accessToken })).status).toBe(400);
      },
    );

    it('answers 404 to outsiders', async () => {
      const message = await sendMessage(t.http, alice, direct, 'private');
      expect((await t.http.put(path(message.id, '👍'), undefined, { token: mallory.accessToken })).status).toBe(404);
      expect((await t.http.delete(path(message.id, '👍'), { token: mallory.accessToken })).status).toBe(404);
    });
  });
});
