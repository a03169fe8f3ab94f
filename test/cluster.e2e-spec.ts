import { EventBus } from '../src/events/event-bus';
import type { RedisEventBus } from '../src/events/redis-event-bus';
import { createGroup, openDirect, registerUser, sendMessage, type RegisteredUser } from './support/factories';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OwnRedis } from './support/redis';
import { spawnServer, waitHealthy } from './support/server-process';
import { startTestApp, TEST_JWT_SECRET, type TestApp } from './support/test-app';
import { WebSocket } from 'ws';
import { connect, refused, TestSocket, wsUrl } from './support/ws-client';

const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
const canRunRedis = process.env.PARLEY_TEST_REDIS_SERVER === '1';
if (!redisUrl) console.log('cluster tests skipped: no Redis answers at REDIS_URL or redis://127.0.0.1:6379');
if (!canRunRedis) console.log('Redis outage test skipped: no redis-server binary to start and kill');

async function startInstance(url: string, overrides: Record<string, string> = {}): Promise<TestApp> {
  const app = await startTestApp({ REDIS_URL: url, ...overrides });
  await (app.app.get(EventBus) as RedisEventBus).whenSubscribed();
  return app;
}

/** Two instances on different ports sharing PostgreSQL and Redis behave as one. */
(redisUrl ? describe : describe.skip)('scale-out: two instances on Redis', () => {
  let a: TestApp;
  let b: TestApp;
  const sockets: TestSocket[] = [];
  const on = async (app: TestApp, user: RegisteredUser) => {
    const socket = await connect(app.baseUrl, user.accessToken);
    sockets.push(socket);
    return socket;
  };
  beforeAll(async () => {
    const settings = { PRESENCE_GRACE_MS: '200', MAX_CONNECTIONS_PER_USER: '3' };
    [a, b] = await Promise.all([startInstance(redisUrl!, settings), startInstance(redisUrl!, settings)]);
  });
  afterEach(async () => {
    await Promise.all(sockets.splice(0).map((s) => s.close()));
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  it('delivers an event produced on one instance to sockets on both, exactly once each', async () => {
    const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
    const id = await openDirect(a.http, alice, bob);
    const [aliceOnA, aliceOnB, bobOnB] = await Promise.all([on(a, alice), on(b, alice), on(b, bob)]);
    const message = await sendMessage(a.http, alice, id, 'across');
    for (const socket of [aliceOnA, aliceOnB, bobOnB])
      expect((await socket.next('message.created')).data).toEqual(message);
    await sendMessage(b.http, bob, id, 'and back');
    for (const socket of [aliceOnA, aliceOnB, bobOnB]) {
      await socket.next('message.created', (d) => d.seq === 2);
      await socket.barrier();
      expect(socket.of('message.created').map((f) => f.data.seq)).toEqual([1, 2]);
    }
  });

  it('keeps seq order per socket with senders on both instances', async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => registerUser(a.http)));
    const id = await createGroup(a.http, users[0], users.slice(1));
    const listeners = await Promise.all(users.map((u, i) => on(i % 2 ? a : b, u)));
    const senders = await Promise.all(users.map((u, i) => on(i % 2 ? b : a, u)));
    const perSender = 20;
    senders.forEach((socket, s) => {
      for (let i = 0; i < perSender; i++)
        socket.send('message.send', { conversationId: id, content: `${s}-${i}`, clientMessageId: `c-${s}-${i}` });
    });
    const total = users.length * perSender;
    for (const socket of listeners) {
      await socket.next('message.created', (d) => d.seq === total);
      await socket.barrier();
      expect(socket.of('message.created').map((f) => f.data.seq)).toEqual(
        Array.from({ length: total }, (_, i) => i + 1),
      );
    }
  });

  it("keeps seq order from a conversation's first message, first sends racing on both instances", async () => {
    const users = await Promise.all([0, 1, 2, 3].map(() => registerUser(a.http)));
    const listeners = [await on(a, users[1]), await on(b, users[2]), await on(b, users[3])];
    // Senders over WebSocket: four sockets, so that none passes RATE_WS_PER_SEC.
    const ws = [await on(a, users[3]), await on(b, users[0]), await on(a, users[2]), await on(b, users[1])];
    // A race is not lost every time: four rounds of 40 new groups each.
    for (let round = 0; round < 4; round++) {
      const groups = await Promise.all(Array.from({ length: 40 }, () => createGroup(a.http, users[0], users.slice(1))));
      // Six first sends per new group at once, alternating instances, over REST and WebSocket.
      const sends = groups.flatMap((id, g) =>
        Array.from({ length: 6 }, (_, i) => {
          if (i % 3 === 2) {
            const socket = ws[(2 * g + (i === 5 ? 1 : 0)) % ws.length];
            socket.send('message.send', {
              conversationId: id,
              content: `ws ${i}`,
              clientMessageId: `first-${id}-${i}`,
            });
            return Promise.resolve();
          }
          return sendMessage(i % 2 ? b.http : a.http, users[i % 4], id, `rest ${i}`);
        }),
      );
      await Promise.all(sends);
      for (const socket of listeners) {
        for (const id of groups) await socket.next('message.created', (d) => d.conversationId === id && d.seq === 6);
        await socket.barrier();
        const outOfOrder = groups.filter((id) => {
          const seqs = socket
            .of('message.created')
            .filter((f) => f.data.conversationId === id)
            .map((f) => f.data.seq);
          return seqs.join() !== '1,2,3,4,5,6';
        });
        expect({ round, outOfOrder }).toEqual({ round, outOfOrder: [] });
      }
    }
  });

  it('carries typing across instances, never back to the typist', async () => {
    const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
    const id = await openDirect(a.http, alice, bob);
    const [typist, typistOther, watcher] = await Promise.all([on(a, alice), on(b, alice), on(b, bob)]);
    typist.send('typing', { conversationId: id, isTyping: true });
    expect((await watcher.next('typing')).data).toEqual({ conversationId: id, userId: alice.id, isTyping: true });
    await typistOther.barrier();
    expect(typistOther.of('typing')).toEqual([]);
  });

  it('counts presence across instances: online with a socket on either, offline after the last one anywhere', async () => {
    const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
    const id = await openDirect(a.http, alice, bob);
    const watcher = await on(a, bob);
    const onB = await on(b, alice);
    expect((await watcher.next('presence')).data).toMatchObject({ userId: alice.id, status: 'online' });
    const onA = await on(a, alice);
    const participant = async (app: TestApp) =>
      (await app.http.get(`/api/v1/conversations/${id}`, { token: bob.accessToken })).body.participants.find(
        (p: { id: string }) => p.id === alice.id,
      );
    await onB.close(); // still connected on A
    expect((await participant(b)).online).toBe(true);
    await onA.close();
    expect((await watcher.next('presence', (d) => d.status === 'offline')).data.userId).toBe(alice.id);
    expect(
      watcher
        .of('presence')
        .filter((f) => f.data.userId === alice.id)
        .map((f) => f.data.status),
    ).toEqual(['online', 'offline']);
    expect((await participant(b)).online).toBe(false);
  });

  it('holds MAX_CONNECTIONS_PER_USER for the whole cluster', async () => {
    const user = await registerUser(a.http);
    await Promise.all([on(a, user), on(b, user), on(a, user)]);
    expect(await refused(wsUrl(b.baseUrl, user.accessToken))).toMatchObject({ code: 4429, frames: [] });
    expect(await refused(wsUrl(a.baseUrl, user.accessToken))).toMatchObject({ code: 4429, frames: [] });
  });

  it('stops counting the sockets of a killed instance within PRESENCE_TTL_MS', async () => {
    const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
    const id = await openDirect(a.http, alice, bob);
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-cluster-'));
    const doomed = await spawnServer({
      DATABASE_URL: process.env.DATABASE_URL!,
      REDIS_URL: redisUrl!,
      JWT_SECRET: TEST_JWT_SECRET,
      PRESENCE_TTL_MS: '900',
      DATA_DIR: dataDir,
    });
    try {
      await waitHealthy(doomed);
      const socket = await connect(`http://127.0.0.1:${doomed.port}`, alice.accessToken);
      const online = async () =>
        (await a.http.get(`/api/v1/conversations/${id}`, { token: bob.accessToken })).body.participants.find(
          (p: { id: string }) => p.id === alice.id,
        ).online as boolean;
      expect(await online()).toBe(true);
      doomed.child.kill('SIGKILL');
      await doomed.exited;
      const killedAt = Date.now();
      // Expiry is a matter of time, not of an event: poll, bounded.
      while ((await online()) && Date.now() - killedAt < 5_000)
        await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await online()).toBe(false);
      expect(Date.now() - killedAt).toBeLessThan(900 + 1_000);
      await socket.closed;
    } finally {
      if (doomed.child.exitCode === null && doomed.child.signalCode === null) doomed.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reports Redis in /health', async () => {
    const res = await a.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body.info).toMatchObject({ database: { status: 'up' }, redis: { status: 'up' } });
  });
});

(redisUrl && canRunRedis ? describe : describe.skip)('scale-out: a Redis outage', () => {
  /** Two instances on a redis-server of the test's own, and a direct conversation of alice and bob. */
  async function onOwnRedis(
    test: (pair: {
      redis: OwnRedis;
      a: TestApp;
      b: TestApp;
      alice: RegisteredUser;
      bob: RegisteredUser;
      id: string;
      connect: (app: TestApp, user: RegisteredUser) => Promise<TestSocket>;
    }) => Promise<void>,
  ): Promise<void> {
    const redis = await OwnRedis.start();
    const [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
    const sockets: TestSocket[] = [];
    try {
      const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
      const id = await openDirect(a.http, alice, bob);
      const open = async (app: TestApp, user: RegisteredUser) => {
        const socket = await connect(app.baseUrl, user.accessToken);
        sockets.push(socket);
        return socket;
      };
      await test({ redis, a, b, alice, bob, id, connect: open });
    } finally {
      redis.resume();
      await Promise.all(sockets.map((s) => s.close()));
      await Promise.all([a.close(), b.close()]);
      await redis.kill();
    }
  }
  const resubscribed = (...apps: TestApp[]) =>
    Promise.all(apps.map((app) => (app.app.get(EventBus) as RedisEventBus).whenSubscribed()));

  it('delivers every message sent on an instance to its own sockets exactly once while Redis stalls and is killed', () =>
    onOwnRedis(async ({ redis, a, b, alice, bob, id, connect: open }) => {
      const [bobOnA, aliceOnA] = await Promise.all([open(a, bob), open(a, alice)]);
      let sent = 0;
      const sendSome = async (count: number) => {
        for (let i = 0; i < count; i++) {
          const res = await a.http.post(
            `/api/v1/conversations/${id}/messages`,
            { content: `m${sent + 1}` },
            { token: alice.accessToken },
          );
          expect(res.status).toBe(201);
          sent += 1;
        }
      };
      const expectEveryOnce = async () => {
        const every = Array.from({ length: sent }, (_, i) => i + 1);
        for (const socket of [bobOnA, aliceOnA]) {
          await socket.next('message.created', (d) => d.seq === sent);
          await socket.barrier();
          expect(socket.of('message.created').map((f) => f.data.seq)).toEqual(every);
        }
      };
      await sendSome(20);
      redis.pause(); // publishes get no answer, the subscription no messages
      await sendSome(20);
      await redis.kill(); // both connections drop, in whichever order
      await sendSome(20);
      // Before Redis is back: what was stalled on its way is delivered here all the same.
      await expectEveryOnce();
      await redis.start();
      await resubscribed(a, b);
      await sendSome(20);
      // Copies that ioredis sends again after reconnecting come back, and are dropped.
      await expectEveryOnce();
    }));

  it('keeps REST and same-instance delivery, reports Redis down, and resumes cross-instance delivery after', () =>
    onOwnRedis(async ({ redis, a, b, alice, bob, id, connect: open }) => {
      const bobOnA = await open(a, bob);
      const bobOnB = await open(b, bob);

      await redis.kill();
      const sent = await a.http.post(
        `/api/v1/conversations/${id}/messages`,
        { content: 'during the outage' },
        { token: alice.accessToken },
      );
      expect(sent.status).toBe(201);
      expect((await bobOnA.next('message.created')).data.content).toBe('during the outage');
      const health = await a.http.get('/health');
      expect(health.status).toBe(503);
      expect(health.body.error).toMatchObject({ redis: { status: 'down' } });
      expect((await a.http.get('/health/live')).status).toBe(200);
      expect(
        (await a.http.get(`/api/v1/conversations/${id}/messages`, { token: bob.accessToken })).body.items,
      ).toHaveLength(1);

      await redis.start();
      await resubscribed(a, b);
      await sendMessage(a.http, alice, id, 'after the outage');
      expect((await bobOnB.next('message.created', (d) => d.content === 'after the outage')).data.seq).toBe(2);
      await bobOnA.next('message.created', (d) => d.seq === 2);
      await bobOnA.barrier();
      expect(bobOnA.of('message.created').map((f) => f.data.seq)).toEqual([1, 2]);
      expect((await a.http.get('/health')).status).toBe(200);
    }));

  it('pushes every change to every live socket on both instances once while Redis is killed and restarted under traffic', () =>
    onOwnRedis(async ({ redis, a, b, alice, bob, id, connect: open }) => {
      const sockets = await Promise.all([open(a, bob), open(b, bob), open(a, alice), open(b, alice)]);
      let sent = 0;
      let sending = true;
      // Senders on both instances, one message at a time each, whatever Redis does.
      const sender = async (app: TestApp, user: RegisteredUser) => {
        while (sending) {
          const res = await app.http.post(
            `/api/v1/conversations/${id}/messages`,
            { content: 'x' },
            { token: user.accessToken },
          );
          expect(res.status).toBe(201);
          sent += 1;
        }
      };
      const traffic = Promise.all([sender(a, alice), sender(b, bob)]);
      const until = (count: number) => sockets[1].next('message.created', (d) => d.seq >= count);
      await until(20);
      await redis.kill();
      await until(sent + 20);
      await redis.start();
      await resubscribed(a, b);
      await until(sent + 20);
      sending = false;
      await traffic;
      const every = Array.from({ length: sent }, (_, i) => i + 1);
      for (const socket of sockets) {
        // Those whose event was lost come from the log, up to LOG_FOLLOW_MS + LIVE_REPAIR_AFTER_MS late.
        const distinct = () => new Set(socket.of('message.created').map((f) => f.data.seq)).size;
        while (distinct() < sent) await socket.next('message.created', () => true);
        await socket.barrier();
        const seqs = socket.of('message.created').map((f) => f.data.seq);
        // Exactly once each; those whose event was lost in the outage came from the log, maybe late.
        expect([...seqs].sort((x, y) => x - y)).toEqual(every);
      }
      expect(sent).toBeGreaterThan(60);
    }));
});

/** A change committed by an instance that dies before publishing it still reaches the other instance's sockets. */
(redisUrl ? describe : describe.skip)('scale-out: an instance killed between its commit and its publish', () => {
  it('pushes the change to the other instance from the change log', async () => {
    const b = await startInstance(redisUrl!, { LOG_FOLLOW_MS: '100', LIVE_REPAIR_AFTER_MS: '300' });
    const dying = await spawnServer(
      {
        DATABASE_URL: b.env.DATABASE_URL!,
        REDIS_URL: redisUrl!,
        JWT_SECRET: TEST_JWT_SECRET,
        PARLEY_TEST_DIE_BEFORE_PUBLISH: 'the last words',
      },
      {
        script: [
          '--require',
          join(__dirname, 'support', 'die-before-publish.cjs'),
          join(__dirname, '..', 'scripts', 'start.js'),
        ],
      },
    );
    try {
      await waitHealthy(dying);
      const [alice, bob] = await Promise.all([registerUser(b.http), registerUser(b.http)]);
      const id = await openDirect(b.http, alice, bob);
      const bobOnB = await connect(b.baseUrl, bob.accessToken);
      const sentAt = Date.now();
      const res = await fetch(`http://127.0.0.1:${dying.port}/api/v1/conversations/${id}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${alice.accessToken}` },
        body: JSON.stringify({ content: 'the last words' }),
      }).catch((error: unknown) => error);
      expect(res).toMatchObject({ message: 'fetch failed' }); // no answer: it died
      expect((await dying.exited).signal).toBe('SIGKILL');
      const pushed = await bobOnB.next('message.created', (d) => d.content === 'the last words');
      console.log(`killed before publishing: pushed from the log after ${Date.now() - sentAt} ms`);
      expect(pushed).toMatchObject({ conversationId: id, pos: expect.any(Number) });
      await bobOnB.barrier();
      expect(bobOnB.of('message.created')).toHaveLength(1);
      await bobOnB.close();
    } finally {
      dying.child.kill('SIGKILL');
      await b.close();
    }
  }, 120_000); // the spawned server may compile first (scripts/start.js)

  it('resumes on another instance exactly where the socket on the first one left off', async () => {
    const a = await startInstance(redisUrl!);
    const b = await startInstance(redisUrl!);
    try {
      const [alice, bob] = await Promise.all([registerUser(a.http), registerUser(a.http)]);
      const id = await openDirect(a.http, alice, bob);
      const boot = await a.http.get('/api/v1/sync', { token: bob.accessToken });
      const first = new TestSocket(
        new WebSocket(`${wsUrl(a.baseUrl, bob.accessToken)}&since=${encodeURIComponent(boot.body.token)}`),
      );
      const { token } = (await first.next('synced')).data;
      await sendMessage(a.http, alice, id, 'seen on a');
      await first.next('message.created', (d) => d.content === 'seen on a');
      await first.close();
      await sendMessage(b.http, alice, id, 'missed');
      const second = new TestSocket(
        new WebSocket(`${wsUrl(b.baseUrl, bob.accessToken)}&since=${encodeURIComponent(token)}`),
      );
      await second.next('synced');
      await sendMessage(a.http, alice, id, 'live on b');
      await second.next('message.created', (d) => d.content === 'live on b');
      await second.barrier();
      // The resume repeats what came live after the token (the client drops it by position), nothing else.
      expect(second.of('message.created').map((f) => f.data.content)).toEqual(['seen on a', 'missed', 'live on b']);
      const positions = second.of('message.created').map((f) => (f as unknown as { pos: number }).pos);
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
      await second.close();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
