import { Client } from 'pg';
import { Clock } from '../src/common/clock';
import { ConversationsService } from '../src/conversations/conversations.service';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

type Change = { conversationId: string; pos: number; event: string; data: any };

describe('GET /api/v1/sync: one cursor per user over the change log', () => {
  let t: TestApp;
  let now = Date.now();
  beforeAll(async () => {
    t = await startTestApp({ SYNC_RETENTION_MS: '3600000' }, (b) =>
      b.overrideProvider(Clock).useValue({ now: () => now }),
    );
  });
  afterAll(() => t.close());

  const get = (user: RegisteredUser, query = '') => t.http.get(`/api/v1/sync${query}`, { token: user.accessToken });

  /** Every page from `token` on: the changes in order, and the last token. */
  async function drain(
    user: RegisteredUser,
    token: string,
    limit = 1000,
  ): Promise<{ changes: Change[]; token: string }> {
    const changes: Change[] = [];
    for (;;) {
      const res = await get(user, `?since=${encodeURIComponent(token)}&limit=${limit}`);
      expect(res.status).toBe(200);
      changes.push(...res.body.changes);
      token = res.body.token;
      if (!res.body.hasMore) return { changes, token };
    }
  }

  async function bootstrap(user: RegisteredUser): Promise<{ conversations: any[]; token: string }> {
    const res = await get(user);
    expect(res.status).toBe(200);
    expect(res.body.hasMore).toBe(false);
    return res.body;
  }

  it('bootstraps with every conversation, then returns nothing until something changes', async () => {
    const alice = await registerUser(t.http);
    const bob = await registerUser(t.http);
    const direct = await openDirect(t.http, alice, bob);
    await sendMessage(t.http, bob, direct, 'before the bootstrap');
    const boot = await bootstrap(alice);
    expect(boot.conversations.map((c) => c.id)).toEqual([direct]);
    expect(boot.conversations[0].lastMessage.content).toBe('before the bootstrap');
    expect(boot.conversations[0].unreadCount ?? boot.conversations[0].unread).toBeDefined();
    expect(await drain(alice, boot.token)).toEqual({ changes: [], token: expect.any(String) });
  });

  it('returns every kind of change made while the client was away, per conversation in commit order', async () => {
    const [alice, bob, carol] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    const direct = await openDirect(t.http, alice, bob);
    const first = await sendMessage(t.http, alice, direct, 'first');
    const { token } = await bootstrap(alice);

    // Away: bob writes, edits, reacts, reads; alice's own devices edit and delete; a group appears and changes.
    const second = await sendMessage(t.http, bob, direct, 'second');
    expect(
      (
        await t.http.request('PATCH', `/api/v1/messages/${first.id}`, {
          token: alice.accessToken,
          body: { content: 'first, edited' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await t.http.request('PUT', `/api/v1/messages/${second.id}/reactions/${encodeURIComponent('👍')}`, {
          token: alice.accessToken,
        })
      ).status,
    ).toBeLessThan(300);
    expect(
      (await t.http.post(`/api/v1/conversations/${direct}/read`, { seq: 2 }, { token: bob.accessToken })).status,
    ).toBe(200);
    await t.app.get(ConversationsService).markDelivered(bob.id, direct, 2);
    expect((await t.http.request('DELETE', `/api/v1/messages/${first.id}`, { token: alice.accessToken })).status).toBe(
      204,
    );
    const group = await createGroup(t.http, bob, [alice]);
    expect(
      (
        await t.http.post(
          `/api/v1/conversations/${group}/participants`,
          { userIds: [carol.id] },
          { token: bob.accessToken },
        )
      ).status,
    ).toBeLessThan(300);

    const { changes } = await drain(alice, token);
    const events = (id: string) => changes.filter((c) => c.conversationId === id).map((c) => c.event);
    expect(events(direct)).toEqual([
      'message.created',
      'message.updated',
      'reaction.updated',
      'message.read',
      'message.delivered',
      'message.deleted',
    ]);
    expect(events(group)).toEqual(['conversation.created', 'conversation.updated']);
    for (const id of [direct, group]) {
      const positions = changes.filter((c) => c.conversationId === id).map((c) => c.pos);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    const byEvent = (event: string) => changes.find((c) => c.conversationId === direct && c.event === event)!.data;
    expect(byEvent('message.created')).toMatchObject({ id: second.id, content: 'second', seq: 2 });
    expect(byEvent('reaction.updated')).toMatchObject({
      messageId: second.id,
      reactions: [{ emoji: '👍', count: 1, me: true }],
    });
    expect(byEvent('message.read')).toMatchObject({ conversationId: direct, userId: bob.id, seq: 2 });
    expect(byEvent('message.delivered')).toEqual({ conversationId: direct, userId: bob.id, seq: 2 });
    expect(byEvent('message.deleted')).toEqual({ conversationId: direct, messageId: first.id, seq: 1 });
    const updated = changes.find((c) => c.conversationId === group && c.event === 'conversation.updated')!.data;
    expect(updated.participants.map((p: { id: string }) => p.id).sort()).toEqual([alice.id, bob.id, carol.id].sort());
  });

  it('pages return each change exactly once, whatever the page size', async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const conversations = await Promise.all([1, 2, 3].map(() => createGroup(t.http, alice, [bob])));
    const { token } = await bootstrap(bob);
    for (let i = 0; i < 7; i++) for (const c of conversations) await sendMessage(t.http, alice, c, `m${i}`);
    const whole = await drain(bob, token);
    expect(whole.changes).toHaveLength(21);
    for (const limit of [1, 2, 5]) {
      const paged = await drain(bob, token, limit);
      expect(paged.changes).toEqual(whole.changes);
    }
    expect((await drain(bob, whole.token)).changes).toEqual([]);
  });

  it("gives a removed member its removal as the last change, and nothing after; never another conversation's", async () => {
    const [owner, leaver, stranger] = await Promise.all([
      registerUser(t.http),
      registerUser(t.http),
      registerUser(t.http),
    ]);
    const group = await createGroup(t.http, owner, [leaver]);
    const elsewhere = await openDirect(t.http, owner, stranger);
    const { token } = await bootstrap(leaver);
    await sendMessage(t.http, owner, group, 'while still a member');
    expect(
      (
        await t.http.request('DELETE', `/api/v1/conversations/${group}/participants/${leaver.id}`, {
          token: owner.accessToken,
        })
      ).status,
    ).toBe(204);
    await sendMessage(t.http, owner, group, 'after the removal');
    await sendMessage(t.http, owner, elsewhere, 'not for the leaver');
    const { changes, token: afterRemoval } = await drain(leaver, token);
    expect(changes.map((c) => c.event)).toEqual(['message.created', 'conversation.updated']);
    expect(changes[0].data.content).toBe('while still a member');
    expect(changes[1].data.participants.map((p: { id: string }) => p.id)).toEqual([owner.id]);
    // Re-added: from then on again, and not what was said while away.
    expect(
      (
        await t.http.post(
          `/api/v1/conversations/${group}/participants`,
          { userIds: [leaver.id] },
          { token: owner.accessToken },
        )
      ).status,
    ).toBeLessThan(300);
    const later = await drain(leaver, afterRemoval);
    expect(later.changes.map((c) => c.event)).toEqual(['conversation.updated']);
  });

  it('refuses an invalid, foreign or expired token with 410 resync_required', async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const { token } = await bootstrap(alice);
    const tampered = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    for (const [user, since] of [
      [alice, 'not-a-token'],
      [alice, tampered],
      [alice, `${token}.x`],
      [bob, token],
    ] as const) {
      const res = await get(user, `?since=${encodeURIComponent(since)}`);
      expect([res.status, res.body]).toEqual([
        410,
        { statusCode: 410, error: 'Gone', code: 'resync_required', message: expect.any(String) },
      ]);
    }
    now += 3_600_001;
    try {
      const res = await get(alice, `?since=${encodeURIComponent(token)}`);
      expect([res.status, res.body.code]).toEqual([410, 'resync_required']);
    } finally {
      now -= 3_600_001;
    }
    // Wrong types, huge values, NUL bytes: 400 before any token is read.
    for (const query of ['?limit=0', '?limit=1001', '?limit=x', `?since=${'a'.repeat(9_000)}`, '?since=%00']) {
      expect([query, (await get(alice, query)).status]).toEqual([query, 400]);
    }
  });

  it('never skips a change whose transaction commits after later ones (an early position, a late commit)', async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const slow = await createGroup(t.http, alice, [bob]);
    const fast = await createGroup(t.http, alice, [bob]);
    const message = await sendMessage(t.http, alice, slow, 'to react to');
    let { token } = await bootstrap(bob);

    // A reaction whose transaction takes its log entry first and commits last.
    const held = new Client({ connectionString: t.env.DATABASE_URL });
    await held.connect();
    try {
      await held.query('BEGIN');
      await held.query(`INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, 'x')`, [
        message.id,
        alice.id,
      ]);
      await sendMessage(t.http, alice, fast, 'committed first');
      const before = await drain(bob, token);
      expect(before.changes.map((c) => [c.conversationId, c.event])).toEqual([[fast, 'message.created']]);
      token = before.token;
      await held.query('COMMIT');
    } finally {
      await held.end();
    }
    const after = await drain(bob, token);
    expect(after.changes.map((c) => [c.conversationId, c.event])).toEqual([[slow, 'reaction.updated']]);
    expect((await drain(bob, after.token)).changes).toEqual([]);
  });

  it('a member reading while being removed: no deadlock, no 5xx, and the log says both in commit order', async () => {
    const owner = await registerUser(t.http);
    const members = await Promise.all([1, 2, 3, 4, 5, 6].map(() => registerUser(t.http)));
    const group = await createGroup(t.http, owner, members);
    for (let i = 0; i < 6; i++) await sendMessage(t.http, owner, group, `m${i}`);
    const { token } = await bootstrap(owner);
    // Each member marks read while the owner removes it: both lock the conversation's row and the member's.
    const outcomes = await Promise.all(
      members.flatMap((m, i) => [
        t.http.post(`/api/v1/conversations/${group}/read`, { seq: i + 1 }, { token: m.accessToken }),
        t.http.request('DELETE', `/api/v1/conversations/${group}/participants/${m.id}`, { token: owner.accessToken }),
      ]),
    );
    expect(outcomes.map((r) => r.status).filter((status) => status >= 500)).toEqual([]);
    const { changes } = await drain(owner, token);
    const positions = changes.map((c) => c.pos);
    expect(positions).toEqual([...positions].sort((a, b) => a - b));
    expect(changes.filter((c) => c.event === 'conversation.updated')).toHaveLength(members.length);
  });

  it('many writers in many conversations, a reader paging as they go: every change exactly once, in order', async () => {
    const reader = await registerUser(t.http);
    const writers = await Promise.all([1, 2, 3, 4].map(() => registerUser(t.http)));
    const groups = await Promise.all(
      writers.map((w) => createGroup(t.http, w, [reader, ...writers.filter((o) => o !== w)])),
    );
    let { token } = await bootstrap(reader);
    const seen: Change[] = [];
    let writing = true;
    const reading = (async () => {
      while (writing) {
        const page = await drain(reader, token, 7);
        seen.push(...page.changes);
        token = page.token;
      }
    })();
    const sent = (
      await Promise.all(
        writers.map(async (writer, i) => {
          const ids: string[] = [];
          for (let n = 0; n < 25; n++)
            ids.push((await sendMessage(t.http, writer, groups[(i + n) % groups.length], `w${i}-${n}`)).id);
          return ids;
        }),
      )
    ).flat();
    writing = false;
    await reading;
    seen.push(...(await drain(reader, token, 7)).changes);
    const created = seen.filter((c) => c.event === 'message.created').map((c) => c.data.id);
    expect(created.sort()).toEqual([...sent].sort());
    const keys = seen.map((c) => `${c.conversationId}:${c.pos}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const g of groups) {
      const positions = seen.filter((c) => c.conversationId === g).map((c) => c.pos);
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
  });
});
