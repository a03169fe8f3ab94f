import { Client } from 'pg';
import { STORED_CHANGE_EVENTS } from '../src/realtime/ws-protocol';
import { WebSocket } from 'ws';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { connect, TestSocket, wsUrl, type Frame } from './support/ws-client';

type Stored = Frame & { conversationId: string; pos: number };
const isStored = (f: Frame): f is Stored => STORED_CHANGE_EVENTS.has(f.event);
const keyOf = (f: { conversationId: string; pos: number }) => `${f.conversationId}:${f.pos}`;

/** Resume on the socket (docs/protocol.md §9.2) and live delivery from the change log. */
describe('resume on the socket: /ws?since= and sync {since}', () => {
  let t: TestApp;
  const sockets: TestSocket[] = [];
  beforeAll(async () => {
    // A fast follower, so that a change without an event reaches sockets quickly here.
    t = await startTestApp({ LOG_FOLLOW_MS: '50', LIVE_REPAIR_AFTER_MS: '200', RATE_WS_PER_SEC: '1000' });
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(() => t.close());

  const bootstrapToken = async (user: RegisteredUser): Promise<string> => {
    const res = await t.http.get('/api/v1/sync', { token: user.accessToken });
    expect(res.status).toBe(200);
    return res.body.token;
  };

  /** Every change since `token` over REST, and the last token. */
  async function drain(user: RegisteredUser, token: string): Promise<{ changes: Stored[]; token: string }> {
    const changes: Stored[] = [];
    for (;;) {
      const res = await t.http.get(`/api/v1/sync?since=${encodeURIComponent(token)}&limit=7`, {
        token: user.accessToken,
      });
      expect(res.status).toBe(200);
      changes.push(...res.body.changes);
      token = res.body.token;
      if (!res.body.hasMore) return { changes, token };
    }
  }

  async function resumeOnUpgrade(user: RegisteredUser, since: string): Promise<TestSocket> {
    const socket = new TestSocket(
      new WebSocket(`${wsUrl(t.baseUrl, user.accessToken)}&since=${encodeURIComponent(since)}`),
    );
    sockets.push(socket);
    await socket.opened;
    return socket;
  }

  async function open(user: RegisteredUser): Promise<TestSocket> {
    const socket = await connect(t.baseUrl, user.accessToken);
    sockets.push(socket);
    return socket;
  }

  const stored = (socket: TestSocket, upTo = socket.frames.length) =>
    socket.frames.slice(0, upTo).filter(isStored) as Stored[];
  const indexOfSynced = (socket: TestSocket) => socket.frames.findIndex((f) => f.event === 'synced');

  it('replays every change missed, with its position, then synced, then live events', async () => {
    const [alice, bob, carol] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    const direct = await openDirect(t.http, alice, bob);
    const first = await sendMessage(t.http, alice, direct, 'first');
    const since = await bootstrapToken(alice);

    // Away: a message, an edit, a reaction, a read marker, a delete, a new group, a member added.
    const second = await sendMessage(t.http, bob, direct, 'second');
    await t.http.patch(`/api/v1/messages/${first.id}`, { content: 'first, edited' }, { token: alice.accessToken });
    await t.http.put(`/api/v1/messages/${second.id}/reactions/${encodeURIComponent('👍')}`, undefined, {
      token: bob.accessToken,
    });
    await t.http.post(`/api/v1/conversations/${direct}/read`, { seq: 2 }, { token: bob.accessToken });
    const third = await sendMessage(t.http, bob, direct, 'third');
    await t.http.delete(`/api/v1/messages/${third.id}`, { token: bob.accessToken });
    const group = await createGroup(t.http, bob, [alice]);
    await t.http.post(
      `/api/v1/conversations/${group}/participants`,
      { userIds: [carol.id] },
      { token: bob.accessToken },
    );
    const expected = await drain(alice, since);

    const socket = await resumeOnUpgrade(alice, since);
    const synced = await socket.next('synced');
    expect(socket.frames[0].event).toBe('connected');
    const replayed = stored(socket, indexOfSynced(socket));
    expect(replayed.map((f) => [f.conversationId, f.pos, f.event])).toEqual(
      expected.changes.map((c) => [c.conversationId, c.pos, c.event]),
    );
    expect(replayed.map((f) => f.event)).toEqual(
      expect.arrayContaining([
        'message.created',
        'message.updated',
        'reaction.updated',
        'message.read',
        'message.deleted',
        'conversation.created',
        'conversation.updated',
      ]),
    );
    // Then live, with positions that go on from the replayed ones.
    const live = await sendMessage(t.http, bob, direct, 'live');
    const frame = (await socket.next('message.created', (m) => m.id === live.id)) as Stored;
    const lastDirect = Math.max(...replayed.filter((f) => f.conversationId === direct).map((f) => f.pos));
    expect(frame).toMatchObject({ conversationId: direct, pos: lastDirect + 1 });
    // The synced token is a sync token: REST goes on from it with exactly that live change.
    const after = await drain(alice, synced.data.token);
    expect(after.changes.map((c) => [c.conversationId, c.pos])).toEqual([[direct, lastDirect + 1]]);
  });

  it('does the same with a sync frame, leaving out what was pushed live before it', async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const direct = await openDirect(t.http, alice, bob);
    const since = await bootstrapToken(alice);
    await sendMessage(t.http, bob, direct, 'missed');
    const socket = await open(alice);
    const pushed = await sendMessage(t.http, bob, direct, 'pushed before the sync frame');
    await socket.next('message.created', (m) => m.id === pushed.id);
    socket.send('sync', { since });
    await socket.next('synced');
    const contents = socket.of('message.created').map((f) => f.data.content);
    expect(contents).toEqual(['pushed before the sync frame', 'missed']);
  });

  it.each([
    ['no since', {}, 'bad_request'],
    ['a number', { since: 42 }, 'bad_request'],
    ['an empty string', { since: '' }, 'bad_request'],
    ['a huge string', { since: 'x'.repeat(9_000) }, 'bad_request'],
    ['a NUL byte', { since: 'abc\u0000def' }, 'bad_request'],
    ['garbage', { since: 'not-a-token' }, 'resync_required'],
  ])('answers a sync frame with %s with an error, and the socket stays open', async (_case, data, code) => {
    const user = await registerUser(t.http);
    const socket = await open(user);
    socket.send('sync', data);
    expect((await socket.next('error')).data).toMatchObject({ code, event: 'sync' });
    socket.send('ping');
    await socket.next('pong');
  });

  it("answers another user's token with resync_required, on the upgrade and in a frame; live events still come", async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const direct = await openDirect(t.http, alice, bob);
    const bobs = await bootstrapToken(bob);
    const upgraded = await resumeOnUpgrade(alice, bobs);
    expect((await upgraded.next('error')).data).toMatchObject({ code: 'resync_required', event: 'sync' });
    const framed = await open(alice);
    framed.send('sync', { since: bobs });
    expect((await framed.next('error')).data).toMatchObject({ code: 'resync_required' });
    const message = await sendMessage(t.http, bob, direct, 'still live');
    await upgraded.next('message.created', (m) => m.id === message.id);
    await framed.next('message.created', (m) => m.id === message.id);
  });

  it('pushes a change whose event never came (committed without one) from the log, once', async () => {
    const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const direct = await openDirect(t.http, alice, bob);
    const message = await sendMessage(t.http, alice, direct, 'react to me');
    const socket = await open(alice);
    await socket.barrier();
    // As if written by an instance killed between its commit and its publish.
    const db = new Client({ connectionString: t.env.DATABASE_URL });
    await db.connect();
    try {
      await db.query(`INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, '🎉')`, [
        message.id,
        bob.id,
      ]);
    } finally {
      await db.end();
    }
    const pushed = (await socket.next('reaction.updated')) as Stored;
    expect(pushed.data).toMatchObject({ messageId: message.id, reactions: [{ emoji: '🎉', count: 1, me: false }] });
    expect(pushed).toMatchObject({ conversationId: direct, pos: expect.any(Number) });
    // A later change comes as usual, and the repaired one never again.
    await sendMessage(t.http, bob, direct, 'after');
    await socket.next('message.created', (m) => m.content === 'after');
    await socket.barrier();
    expect(socket.of('reaction.updated')).toHaveLength(1);
  });

  /**
   * The property: writers in many conversations (REST and WebSocket sends, reactions,
   * read markers, and transactions that take their log entry early and commit late, with
   * no event at all), and a reader that keeps leaving and coming back: resuming on the
   * upgrade, with a sync frame, or over REST. Every change it may see reaches it exactly
   * once, except what it got live after its last token, which a resume may repeat and the
   * client drops by position (docs/protocol.md §9.2); and in the end it has them all.
   */
  it('delivers every change exactly once across resumes, with many writers and late commits', async () => {
    const reader = await registerUser(t.http);
    const writers = await Promise.all(Array.from({ length: 4 }, () => registerUser(t.http)));
    const groups = await Promise.all(
      Array.from({ length: 6 }, (_, i) => createGroup(t.http, writers[i % 4], [reader, ...writers])),
    );
    const directs = await Promise.all(writers.map((w) => openDirect(t.http, w, reader)));
    const conversations = [...groups, ...directs];
    /** The writers that take part: every writer in a group, its own writer in a direct conversation. */
    const writerOf = (index: number, w: number) => (index < groups.length ? w : index - groups.length);
    const firstMessages = await Promise.all(
      conversations.map((c, i) => sendMessage(t.http, writers[writerOf(i, i % 4)], c, 'seed')),
    );
    const readerLog = async (): Promise<Set<string>> => {
      const { rows } = await late.query<{ key: string }>(
        `SELECT ch.conversation_id || ':' || ch.pos AS key FROM change_log ch
           JOIN membership_periods mp ON mp.conversation_id = ch.conversation_id AND mp.user_id = $1
            AND ch.pos >= mp.from_pos AND (mp.to_pos IS NULL OR ch.pos <= mp.to_pos)`,
        [reader.id],
      );
      return new Set(rows.map((r) => r.key));
    };
    const late = new Client({ connectionString: t.env.DATABASE_URL });
    await late.connect();
    const beforeBootstrap = await readerLog();
    let token = await bootstrapToken(reader);

    let writing = true;
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31), seed % n);
    const writerSockets = await Promise.all(writers.map((w) => connect(t.baseUrl, w.accessToken)));
    sockets.push(...writerSockets);
    const write = async (w: number) => {
      let n = 0;
      while (writing) {
        // The groups, and this writer's direct conversation.
        const index = [...groups.keys(), groups.length + w][random(groups.length + 1)];
        const conversation = conversations[index];
        const kind = random(10);
        n += 1;
        if (kind < 4) await sendMessage(t.http, writers[w], conversation, `w${w}-${n}`).catch(() => undefined);
        else if (kind < 6) {
          writerSockets[w].send('message.send', {
            conversationId: conversation,
            content: `ws${w}-${n}`,
            clientMessageId: `p-${w}-${n}`,
          });
          await writerSockets[w].next('message.ack', (a) => a.clientMessageId === `p-${w}-${n}`);
        } else if (kind < 8) {
          const message = firstMessages[index];
          const emoji = ['👍', '🎉', '❤️'][random(3)];
          await t.http.put(`/api/v1/messages/${message.id}/reactions/${encodeURIComponent(emoji)}`, undefined, {
            token: writers[w].accessToken,
          });
        } else {
          await t.http.post(
            `/api/v1/conversations/${conversation}/read`,
            { seq: 1 + random(5) },
            { token: writers[w].accessToken },
          );
        }
      }
    };
    /** Log entries taken early and committed 0-300 ms later, with no event: only the log follower pushes them. */
    const writeLate = async () => {
      let n = 0;
      while (writing) {
        const index = random(conversations.length);
        n += 1;
        await late.query('BEGIN');
        await late.query(
          `INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
          [firstMessages[index].id, writers[writerOf(index, n % 4)].id, `late-${n}`],
        );
        await new Promise((resolve) => setTimeout(resolve, random(300)));
        await late.query('COMMIT');
      }
    };

    const have = new Set<string>();
    let liveSinceToken = new Set<string>();
    const violations: string[] = [];
    const receive = (key: string, replayed: boolean, how: string) => {
      if (have.has(key) && !(replayed && liveSinceToken.has(key))) violations.push(`${how}: ${key} twice`);
      have.add(key);
    };

    async function readAndResume(): Promise<void> {
      for (let round = 0; round < 12; round++) {
        const mode = ['upgrade', 'frame', 'rest'][round % 3];
        if (mode === 'rest') {
          const page = await drain(reader, token);
          for (const change of page.changes) receive(keyOf(change), true, `rest ${round}`);
          token = page.token;
          liveSinceToken = new Set();
          continue;
        }
        const socket = mode === 'upgrade' ? await resumeOnUpgrade(reader, token) : await open(reader);
        if (mode === 'frame') socket.send('sync', { since: token });
        await socket.next('synced');
        // Some live traffic, then away again.
        await new Promise((resolve) => setTimeout(resolve, 100 + random(200)));
        await socket.close();
        const frames = socket.frames;
        const synced = frames.findIndex((f) => f.event === 'synced');
        const seenLive = new Set<string>();
        frames.forEach((f, i) => {
          if (!isStored(f)) return;
          const key = keyOf(f);
          // A sync frame comes after `connected`: what was pushed live before it may repeat what
          // the token covers (the upgrade's ?since= has no such window).
          if (mode === 'frame' && i < synced && have.has(key)) return;
          if (i < synced) receive(key, true, `${mode} ${round} replay`);
          else {
            receive(key, false, `${mode} ${round} live`);
            seenLive.add(key);
          }
        });
        token = frames[synced].data.token;
        liveSinceToken = seenLive;
      }
    }

    const traffic = Promise.all([...writers.map((_, w) => write(w)), writeLate()]);
    try {
      await readAndResume();
    } finally {
      writing = false;
      await traffic;
    }
    const final = await drain(reader, token);
    for (const change of final.changes) receive(keyOf(change), true, 'final');
    const expected = await readerLog();
    await late.end();
    const missing = [...expected].filter((k) => !have.has(k) && !beforeBootstrap.has(k));
    const unexpected = [...have].filter((k) => !expected.has(k) || beforeBootstrap.has(k));
    expect({ violations, missing, unexpected }).toEqual({ violations: [], missing: [], unexpected: [] });
    expect(have.size).toBeGreaterThan(100);
  }, 60_000);
});
