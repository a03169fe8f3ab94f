import { randomUUID } from 'node:crypto';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { recordEvents } from './support/events';
import { startTestApp, type TestApp } from './support/test-app';

describe('conversations (docs/protocol.md §7)', () => {
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;
  let carol: RegisteredUser;
  let mallory: RegisteredUser;
  beforeAll(async () => {
    t = await startTestApp();
    [alice, bob, carol, mallory] = await Promise.all([0, 1, 2, 3].map(() => registerUser(t.http)));
  });
  afterAll(() => t.close());

  const post = (path: string, body: unknown, who: RegisteredUser) =>
    t.http.post(`/api/v1${path}`, body, { token: who.accessToken });
  const get = (path: string, who: RegisteredUser) => t.http.get(`/api/v1${path}`, { token: who.accessToken });

  describe('POST /conversations (direct)', () => {
    it('creates the pair once: 201, then 200 with the same conversation from either side', async () => {
      const [x, y] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const first = await post('/conversations', { type: 'direct', participantId: y.id }, x);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ type: 'direct', title: null, lastSeq: 0, lastMessage: null, unreadCount: 0 });
      expect(first.body.participants.map((p: { id: string }) => p.id).sort()).toEqual([x.id, y.id].sort());
      expect(first.body.participants[0]).toEqual({
        id: expect.any(String),
        username: expect.any(String),
        displayName: expect.any(String),
        role: 'member',
        online: false,
        lastSeenAt: null,
        lastReadSeq: 0,
      });
      const again = await post('/conversations', { type: 'direct', participantId: y.id }, x);
      const reverse = await post('/conversations', { type: 'direct', participantId: x.id.toUpperCase() }, y);
      expect([again.status, reverse.status]).toEqual([200, 200]);
      expect([again.body.id, reverse.body.id]).toEqual([first.body.id, first.body.id]);
    });

    it('emits conversation.created once, to both', async () => {
      const [x, y] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const rec = recordEvents(t);
      await post('/conversations', { type: 'direct', participantId: y.id }, x);
      await post('/conversations', { type: 'direct', participantId: y.id }, x);
      rec.stop();
      const created = rec.of('conversation.created');
      expect(created).toHaveLength(1);
      expect(created[0].payload.recipients.sort()).toEqual([x.id, y.id].sort());
    });

    it.each([
      ['yourself', () => ({ type: 'direct', participantId: alice.id }), 400],
      ['an unknown user', () => ({ type: 'direct', participantId: randomUUID() }), 404],
      ['no participantId', () => ({ type: 'direct' }), 400],
      ['a non-uuid participantId', () => ({ type: 'direct', participantId: 'bob' }), 400],
      ['a numeric participantId', () => ({ type: 'direct', participantId: 42 }), 400],
      ['a title', () => ({ type: 'direct', participantId: bob.id, title: 'x' }), 400],
      ['participantIds', () => ({ type: 'direct', participantId: bob.id, participantIds: [] }), 400],
      ['an unknown type', () => ({ type: 'channel', participantId: bob.id }), 400],
      ['no type', () => ({ participantId: bob.id }), 400],
      ['an unknown property', () => ({ type: 'direct', participantId: bob.id, pinned: true }), 400],
    ])('answers for %s', async (_case, body, status) => {
      expect((await post('/conversations', body(), alice)).status).toBe(status);
    });
  });

  describe('POST /conversations (group)', () => {
    it('creates a group whose creator is owner', async () => {
      const res = await post(
        '/conversations',
        { type: 'group', title: '  Team  ', participantIds: [bob.id, carol.id] },
        alice,
      );
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ type: 'group', title: 'Team', lastSeq: 0, unreadCount: 0 });
      const roles = Object.fromEntries(res.body.participants.map((p: { id: string; role: string }) => [p.id, p.role]));
      expect(roles).toEqual({ [alice.id]: 'owner', [bob.id]: 'member', [carol.id]: 'member' });
    });

    it('ignores the creator in participantIds and allows a group of one', async () => {
      const res = await post('/conversations', { type: 'group', title: 'Solo', participantIds: [alice.id] }, alice);
      expect(res.status).toBe(201);
      expect(res.body.participants).toHaveLength(1);
    });

    it('announces the group to every member', async () => {
      const rec = recordEvents(t);
      const id = await createGroup(t.http, alice, [bob, carol]);
      rec.stop();
      const [event] = rec.of('conversation.created');
      expect(event.payload.conversation.id).toBe(id);
      expect(event.payload.recipients.sort()).toEqual([alice.id, bob.id, carol.id].sort());
    });

    it.each([
      ['no title', () => ({ type: 'group', participantIds: [] }), 400],
      ['an empty title', () => ({ type: 'group', title: '   ', participantIds: [] }), 400],
      ['a long title', () => ({ type: 'group', title: 't'.repeat(101), participantIds: [] }), 400],
      ['a title with a newline', () => ({ type: 'group', title: 'a\nb', participantIds: [] }), 400],
      ['no participantIds', () => ({ type: 'group', title: 'x' }), 400],
      ['participantIds not an array', () => ({ type: 'group', title: 'x', participantIds: bob.id }), 400],
      ['a duplicate participant', () => ({ type: 'group', title: 'x', participantIds: [bob.id, bob.id] }), 400],
      ['a non-uuid participant', () => ({ type: 'group', title: 'x', participantIds: ['bob'] }), 400],
      ['an unknown participant', () => ({ type: 'group', title: 'x', participantIds: [bob.id, randomUUID()] }), 404],
      ['a participantId', () => ({ type: 'group', title: 'x', participantIds: [], participantId: bob.id }), 400],
    ])('answers for %s', async (_case, body, status) => {
      expect((await post('/conversations', body(), alice)).status).toBe(status);
    });

    it('refuses a group larger than GROUP_MAX_PARTICIPANTS', async () => {
      const small = await startTestApp({ GROUP_MAX_PARTICIPANTS: '3' });
      try {
        const [o, a, b, c] = await Promise.all([0, 1, 2, 3].map(() => registerUser(small.http)));
        const tooMany = await small.http.post(
          '/api/v1/conversations',
          { type: 'group', title: 'x', participantIds: [a.id, b.id, c.id] },
          { token: o.accessToken },
        );
        expect(tooMany.status).toBe(400);
        const id = await createGroup(small.http, o, [a, b]);
        const add = await small.http.post(
          `/api/v1/conversations/${id}/participants`,
          { userIds: [c.id] },
          { token: o.accessToken },
        );
        expect(add.status).toBe(403);
      } finally {
        await small.close();
      }
    });
  });

  describe('GET /conversations and /conversations/:id', () => {
    it("lists the caller's conversations by last activity, with cursor pages and no duplicates", async () => {
      const me = await registerUser(t.http);
      const peers = await Promise.all([0, 1, 2, 3, 4].map(() => registerUser(t.http)));
      const ids: string[] = [];
      for (const peer of peers) ids.push(await openDirect(t.http, me, peer));
      await sendMessage(t.http, peers[1], ids[1], 'bump'); // most recent activity now

      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
        const res = await get(`/conversations${query}`, me);
        expect(res.status).toBe(200);
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
        pages += 1;
      } while (cursor);
      expect(pages).toBe(3);
      expect(seen).toEqual([ids[1], ids[4], ids[3], ids[2], ids[0]]);
    });

    it('pages as documented while a conversation moves ahead of the cursor: skipped, never twice', async () => {
      const me = await registerUser(t.http);
      const peers = await Promise.all([0, 1, 2, 3, 4].map(() => registerUser(t.http)));
      const ids: string[] = [];
      for (const peer of peers) ids.push(await openDirect(t.http, me, peer)); // newest first: 4, 3, 2, 1, 0
      const first = await get('/conversations?limit=2', me);
      expect(first.body.items.map((c: { id: string }) => c.id)).toEqual([ids[4], ids[3]]);
      // Between two pages, a conversation not listed yet gets a message: it moves to the top.
      await sendMessage(t.http, peers[0], ids[0], 'bump');
      const rest: string[] = [];
      let cursor: string | null = first.body.nextCursor;
      while (cursor) {
        const res = await get(`/conversations?limit=2&cursor=${cursor}`, me);
        rest.push(...res.body.items.map((c: { id: string }) => c.id));
        cursor = res.body.nextCursor;
      }
      expect(rest).toEqual([ids[2], ids[1]]); // ids[0] is ahead of the cursor now
      // What the docs tell a client to do: the push (or a new first page) has it.
      expect((await get('/conversations?limit=1', me)).body.items[0].id).toBe(ids[0]);
    });

    it("shows lastMessage, lastSeq and the caller's unreadCount", async () => {
      const [x, y] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, x, y);
      await sendMessage(t.http, y, id, 'one');
      await sendMessage(t.http, y, id, 'two');
      await sendMessage(t.http, x, id, 'mine');
      const res = await get(`/conversations/${id}`, x);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        lastSeq: 3,
        unreadCount: 2,
        lastMessage: { seq: 3, content: 'mine', senderId: x.id },
      });
      const forY = await get(`/conversations/${id}`, y);
      expect(forY.body.unreadCount).toBe(1);
    });

    it('answers 404 to outsiders, exactly as for an unknown id', async () => {
      const id = await openDirect(t.http, alice, bob);
      const outsider = await get(`/conversations/${id}`, mallory);
      const unknown = await get(`/conversations/${randomUUID()}`, mallory);
      expect(outsider.status).toBe(404);
      expect(outsider.body).toEqual(unknown.body);
      const list = await get('/conversations?limit=100', mallory);
      expect(list.body.items.map((c: { id: string }) => c.id)).not.toContain(id);
    });

    it.each([
      ['limit=0'],
      ['limit=101'],
      ['limit=abc'],
      ['limit=1.5'],
      ['limit='],
      ['cursor=not-a-cursor'],
      [`cursor=${Buffer.from('1|x').toString('base64url')}`],
      ['cursor=a&cursor=b'],
      [`cursor=${Buffer.from('9999999999999999999|00000000-0000-4000-8000-000000000000').toString('base64url')}`],
      [`cursor=${Buffer.from('1|------------------------------------').toString('base64url')}`],
      ['sort=asc'],
    ])('answers 400 for %s', async (query) => {
      expect((await get(`/conversations?${query}`, alice)).status).toBe(400);
    });

    it('answers 400 for a non-uuid id', async () => {
      expect((await get('/conversations/not-a-uuid', alice)).status).toBe(400);
    });
  });

  describe('participants', () => {
    it('owners add members (idempotently); everyone hears conversation.updated, the new member too', async () => {
      const [owner, m1, m2] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, owner, [m1]);
      await sendMessage(t.http, owner, id, 'before m2 joined');
      const rec = recordEvents(t);
      const res = await post(`/conversations/${id}/participants`, { userIds: [m2.id, m1.id] }, owner);
      expect(res.status).toBe(200);
      expect(res.body.participants.map((p: { id: string }) => p.id).sort()).toEqual([owner.id, m1.id, m2.id].sort());
      const [event] = rec.of('conversation.updated');
      expect(event.payload.recipients.sort()).toEqual([owner.id, m1.id, m2.id].sort());
      rec.stop();
      // A newcomer starts with everything read.
      expect((await get(`/conversations/${id}`, m2)).body.unreadCount).toBe(0);
    });

    it('members may not add; direct conversations take no one; outsiders get 404', async () => {
      const [owner, m1, m2] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, owner, [m1]);
      expect((await post(`/conversations/${id}/participants`, { userIds: [m2.id] }, m1)).status).toBe(403);
      expect((await post(`/conversations/${id}/participants`, { userIds: [m2.id] }, mallory)).status).toBe(404);
      const direct = await openDirect(t.http, owner, m1);
      expect((await post(`/conversations/${direct}/participants`, { userIds: [m2.id] }, owner)).status).toBe(403);
    });

    it.each([
      [{ userIds: [] }, 400],
      [{ userIds: 'x' }, 400],
      [{ userIds: ['x'] }, 400],
      [{ userIds: [randomUUID()] }, 404],
      [{}, 400],
    ])('add answers %j with %i', async (body, status) => {
      const id = await createGroup(t.http, alice, [bob]);
      expect((await post(`/conversations/${id}/participants`, body, alice)).status).toBe(status);
    });

    it('a member leaves; the owner removes; a member may not remove others', async () => {
      const [owner, m1, m2, m3] = await Promise.all([0, 1, 2, 3].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, owner, [m1, m2, m3]);
      const del = (who: RegisteredUser, userId: string) =>
        t.http.delete(`/api/v1/conversations/${id}/participants/${userId}`, { token: who.accessToken });
      expect((await del(m1, m2.id)).status).toBe(403);
      const rec = recordEvents(t);
      expect((await del(m1, m1.id)).status).toBe(204);
      expect(rec.of('conversation.updated')[0].payload.recipients).toContain(m1.id);
      rec.stop();
      expect((await get(`/conversations/${id}`, m1)).status).toBe(404);
      expect((await del(owner, m2.id)).status).toBe(204);
      expect((await del(owner, m2.id)).status).toBe(404);
      expect((await del(owner, randomUUID())).status).toBe(404);
      expect((await del(mallory, m3.id)).status).toBe(404);
      expect(
        (await t.http.delete(`/api/v1/conversations/${id}/participants/not-a-uuid`, { token: owner.accessToken }))
          .status,
      ).toBe(400);
    });

    it('an owner who leaves hands ownership on; someone removed can be added back', async () => {
      const [owner, m1, m2] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await createGroup(t.http, owner, [m1, m2]);
      expect(
        (await t.http.delete(`/api/v1/conversations/${id}/participants/${owner.id}`, { token: owner.accessToken }))
          .status,
      ).toBe(204);
      const after = await get(`/conversations/${id}`, m1);
      // m1 and m2 joined together: the tie is broken by id, so either may inherit.
      const owners = after.body.participants.filter((p: { role: string }) => p.role === 'owner');
      expect(owners).toHaveLength(1);
      expect([m1.id, m2.id]).toContain(owners[0].id);
      const heir = owners[0].id === m1.id ? m1 : m2;
      expect((await post(`/conversations/${id}/participants`, { userIds: [owner.id] }, heir)).status).toBe(200);
      const back = await get(`/conversations/${id}`, owner);
      expect(back.body.participants.find((p: { id: string }) => p.id === owner.id).role).toBe('member');
    });

    it('nobody leaves a direct conversation', async () => {
      const id = await openDirect(t.http, carol, bob);
      expect(
        (await t.http.delete(`/api/v1/conversations/${id}/participants/${carol.id}`, { token: carol.accessToken }))
          .status,
      ).toBe(403);
    });
  });

  describe('read markers and unread counts', () => {
    it('moves forward only, clamps to lastSeq, and emits message.read when it moves', async () => {
      const [x, y] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, x, y);
      for (let i = 0; i < 4; i++) await sendMessage(t.http, y, id, `m${i}`);
      const rec = recordEvents(t);
      const read = (seq: unknown) => post(`/conversations/${id}/read`, { seq }, x);
      expect((await read(2)).body).toEqual({ lastReadSeq: 2 });
      expect((await read(1)).body).toEqual({ lastReadSeq: 2 });
      expect((await read(99)).body).toEqual({ lastReadSeq: 4 });
      expect((await read(4)).status).toBe(200);
      rec.stop();
      const events = rec.of('message.read');
      expect(events.map((e) => e.payload.seq)).toEqual([2, 4]);
      expect(events[0].payload).toMatchObject({ conversationId: id, userId: x.id, readAt: expect.any(String) });
      expect(events[0].payload.recipients.sort()).toEqual([x.id, y.id].sort());
    });

    it.each([[-1], [1.5], ['3'], [null], [2 ** 31], [undefined]])('answers 400 for seq %p', async (seq) => {
      const id = await openDirect(t.http, alice, carol);
      expect((await post(`/conversations/${id}/read`, { seq }, alice)).status).toBe(400);
    });

    it('answers 404 to outsiders', async () => {
      const id = await openDirect(t.http, alice, carol);
      expect((await post(`/conversations/${id}/read`, { seq: 1 }, mallory)).status).toBe(404);
    });

    it('GET /unread counts messages of others after the marker, deleted ones excluded', async () => {
      const [x, y, z] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const direct = await openDirect(t.http, x, y);
      const group = await createGroup(t.http, z, [x, y]);
      await sendMessage(t.http, y, direct, 'a');
      const doomed = await sendMessage(t.http, y, direct, 'b');
      await sendMessage(t.http, x, direct, 'mine');
      await sendMessage(t.http, z, group, 'c');
      await sendMessage(t.http, y, group, 'd');
      await sendMessage(t.http, z, group, 'e');
      await t.http.delete(`/api/v1/messages/${doomed.id}`, { token: y.accessToken });
      await post(`/conversations/${group}/read`, { seq: 1 }, x);

      const res = await get('/unread', x);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        total: 3,
        conversations: [
          { conversationId: group, unreadCount: 2 },
          { conversationId: direct, unreadCount: 1 },
        ],
      });
      await post(`/conversations/${group}/read`, { seq: 3 }, x);
      await post(`/conversations/${direct}/read`, { seq: 3 }, x);
      expect((await get('/unread', x)).body).toEqual({ total: 0, conversations: [] });
    });
  });
});
