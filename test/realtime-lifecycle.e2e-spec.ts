import { MESSAGE_METADATA } from '@nestjs/websockets/constants';
import { DOMAIN_EVENT_NAMES } from '../src/events/domain-events';
import { PresenceService } from '../src/presence/presence.service';
import { SharedThrottlerStorage } from '../src/rate-limit/shared-throttler.storage';
import { asyncApiDocument } from '../src/realtime/asyncapi';
import { ConnectionRegistry } from '../src/realtime/connection-registry.service';
import { FanoutService } from '../src/realtime/fanout.service';
import { RealtimeGateway } from '../src/realtime/realtime.gateway';
import { TypingService } from '../src/realtime/typing.service';
import { CLIENT_EVENTS, REPLY_EVENTS } from '../src/realtime/ws-protocol';
import { createGroup, openDirect, registerUser, sendMessage } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { connect } from './support/ws-client';

describe('realtime: presence, liveness, shutdown, leaks, docs', () => {
  describe('presence', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ PRESENCE_GRACE_MS: '300' });
    });
    afterAll(() => t.close());

    it('online with the first device, offline only after the last one closed and the grace passed', async () => {
      const [alice, bob, stranger] = await Promise.all([0, 1, 2].map(() => registerUser(t.http)));
      const id = await openDirect(t.http, alice, bob);
      const [watcher, outsider] = await Promise.all([
        connect(t.baseUrl, bob.accessToken),
        connect(t.baseUrl, stranger.accessToken),
      ]);

      const phone = await connect(t.baseUrl, alice.accessToken);
      expect((await watcher.next('presence')).data).toEqual({
        userId: alice.id,
        status: 'online',
        lastSeenAt: expect.any(String),
      });
      const laptop = await connect(t.baseUrl, alice.accessToken);
      const conversation = await t.http.get(`/api/v1/conversations/${id}`, { token: bob.accessToken });
      expect(conversation.body.participants.find((p: { id: string }) => p.id === alice.id).online).toBe(true);

      await phone.close(); // one device left: still online
      await laptop.close();
      const offline = await watcher.next('presence', (d) => d.status === 'offline');
      expect(offline.data).toEqual({ userId: alice.id, status: 'offline', lastSeenAt: expect.any(String) });
      expect(watcher.of('presence').map((f) => f.data.status)).toEqual(['online', 'offline']);

      const after = await t.http.get(`/api/v1/conversations/${id}`, { token: bob.accessToken });
      const participant = after.body.participants.find((p: { id: string }) => p.id === alice.id);
      expect(participant).toMatchObject({ online: false, lastSeenAt: offline.data.lastSeenAt });
      const [row] = await t.dataSource.query('SELECT last_seen_at FROM users WHERE id = $1', [alice.id]);
      expect(row.last_seen_at.toISOString()).toBe(offline.data.lastSeenAt);

      await outsider.barrier();
      expect(outsider.of('presence')).toEqual([]); // shares no conversation with alice
      await Promise.all([watcher.close(), outsider.close()]);
    });

    it('a reload within the grace announces nothing', async () => {
      // A long grace, so that the reload surely lands inside it; no timer is left to fire after.
      const app = await startTestApp({ PRESENCE_GRACE_MS: '60000' });
      try {
        const [alice, bob] = await Promise.all([registerUser(app.http), registerUser(app.http)]);
        await openDirect(app.http, alice, bob);
        const watcher = await connect(app.baseUrl, bob.accessToken);
        const first = await connect(app.baseUrl, alice.accessToken);
        await watcher.next('presence', (d) => d.userId === alice.id && d.status === 'online');
        await first.close();
        const presence = app.app.get(PresenceService);
        const reloaded = await connect(app.baseUrl, alice.accessToken);
        expect(presence.pendingTimers).toBe(0); // the grace was cancelled: no offline can come
        expect((await presence.getMany([alice.id])).get(alice.id)!.online).toBe(true);
        await watcher.barrier();
        expect(
          watcher
            .of('presence')
            .filter((f) => f.data.userId === alice.id)
            .map((f) => f.data.status),
        ).toEqual(['online']);
        await Promise.all([watcher.close(), reloaded.close()]);
      } finally {
        await app.close();
      }
    });

    it('a new conversation makes presence flow to the new contact (cached contacts invalidated)', async () => {
      const [alice, dave] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const watcher = await connect(t.baseUrl, dave.accessToken);
      const presence = t.app.get(PresenceService);
      const offline = new Promise<void>((resolve) => {
        const stop = presence.onChange((c) => c.userId === alice.id && c.status === 'offline' && (stop(), resolve()));
      });
      const a1 = await connect(t.baseUrl, alice.accessToken); // caches alice's contacts: nobody yet
      await a1.close();
      await offline;
      await openDirect(t.http, alice, dave);
      const a2 = await connect(t.baseUrl, alice.accessToken);
      await watcher.next('presence', (d) => d.userId === alice.id);
      await Promise.all([watcher.close(), a2.close()]);
    });
  });

  it('terminates a socket that stops answering pings', async () => {
    const t = await startTestApp({ WS_HEARTBEAT_MS: '150' });
    try {
      const user = await registerUser(t.http);
      const healthy = await connect(t.baseUrl, user.accessToken);
      const silent = await connect(t.baseUrl, user.accessToken, { autoPong: false });
      const closed = await silent.closed;
      expect(closed.code).toBe(1006);
      healthy.send('ping');
      await healthy.next('pong'); // answered its pings: still open
      expect(t.app.get(ConnectionRegistry).countOf(user.id)).toBe(1);
      await healthy.close();
    } finally {
      await t.close();
    }
  });

  it('terminates a slow consumer whose send buffer passes WS_MAX_BUFFERED_BYTES', async () => {
    const t = await startTestApp({ WS_MAX_BUFFERED_BYTES: '65536' });
    try {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, alice, bob);
      const slow = await connect(t.baseUrl, bob.accessToken);
      (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // stops reading: the server's buffer grows
      const content = 'x'.repeat(4000);
      let sent = 0;
      let closedCode: number | undefined;
      void slow.closed.then((c) => (closedCode = c.code));
      while (closedCode === undefined && sent < 5000) {
        await Promise.all(Array.from({ length: 50 }, () => sendMessage(t.http, alice, id, content)));
        sent += 50;
        if (t.app.get(ConnectionRegistry).countOf(bob.id) === 0) break;
      }
      expect(t.app.get(ConnectionRegistry).countOf(bob.id)).toBe(0);
      expect(sent).toBeLessThan(5000);
      const metrics = await t.http.get('/metrics');
      expect(metrics.text).toMatch(/ws_slow_consumers_total 1/);
    } finally {
      await t.close();
    }
  });

  it('closes sockets with 1001 on shutdown', async () => {
    const t = await startTestApp();
    const user = await registerUser(t.http);
    const socket = await connect(t.baseUrl, user.accessToken);
    const closing = t.close();
    expect((await socket.closed).code).toBe(1001);
    await closing;
  });

  it('1,000 connect/disconnect cycles leave the registry, timers and listeners empty', async () => {
    const t = await startTestApp({ PRESENCE_GRACE_MS: '50', TYPING_TTL_MS: '60000' });
    try {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await createGroup(t.http, alice, [bob]);
      const presence = t.app.get(PresenceService);
      const listenersBefore = process.listenerCount('exit') + process.listenerCount('SIGTERM');
      const countsBefore = t.app.get(SharedThrottlerStorage).localSize; // REST counts of the setup
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < 1_000; i++) {
        const socket = await connect(t.baseUrl, alice.accessToken);
        if (i % 10 === 0) {
          socket.send('typing', { conversationId: id, isTyping: true });
          socket.send('ping');
          await socket.next('pong');
        }
        await socket.close();
      }
      // The last close starts the presence grace; its offline is the last event.
      await new Promise<void>((resolve) => {
        const stop = presence.onChange((change) => {
          if (change.userId === alice.id && change.status === 'offline') {
            stop();
            resolve();
          }
        });
        if (presence.pendingTimers === 0) {
          stop();
          resolve();
        }
      });
      global.gc?.();
      const rssAfter = process.memoryUsage().rss;
      const registry = t.app.get(ConnectionRegistry);
      expect({
        sockets: registry.size,
        users: registry.userCount,
        graceTimers: presence.pendingTimers,
        online: presence.onlineCount,
        typists: t.app.get(TypingService).activeCount,
        orderedPending: t.app.get(FanoutService).pendingOrdered,
        frameCounts: t.app.get(SharedThrottlerStorage).localSize - countsBefore,
        processListeners: process.listenerCount('exit') + process.listenerCount('SIGTERM'),
      }).toEqual({
        sockets: 0,
        users: 0,
        graceTimers: 0,
        online: 0,
        typists: 0,
        orderedPending: 0,
        frameCounts: 0,
        processListeners: listenersBefore,
      });
      console.log(
        `leak test: test process RSS ${(rssBefore / 2 ** 20).toFixed(1)} MiB before, ${(rssAfter / 2 ** 20).toFixed(1)} MiB after 1,000 cycles`,
      );
    } finally {
      await t.close();
    }
  });

  it('exposes ws_connections, ws_online_users, frame counters, messages_created_total and the fan-out histogram', async () => {
    const t = await startTestApp();
    try {
      const [alice, bob] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
      const id = await openDirect(t.http, alice, bob);
      const socket = await connect(t.baseUrl, bob.accessToken);
      await sendMessage(t.http, alice, id, 'count me');
      await socket.next('message.created');
      const text = (await t.http.get('/metrics')).text;
      expect(text).toMatch(/^ws_connections 1$/m);
      expect(text).toMatch(/^ws_online_users 1$/m);
      expect(text).toMatch(/^ws_frames_out_total [1-9]/m);
      expect(text).toMatch(/^messages_created_total 1$/m);
      expect(text).toMatch(/^ws_fanout_duration_seconds_count [1-9]/m);
      await socket.close();
    } finally {
      await t.close();
    }
  });

  describe('AsyncAPI document', () => {
    it('names exactly the events the code handles and sends', async () => {
      const document = asyncApiDocument() as {
        asyncapi: string;
        channels: { ws: { messages: Record<string, { name: string }> } };
      };
      expect(document.asyncapi).toBe('3.0.0');
      const messages = Object.entries(document.channels.ws.messages);
      const client = messages
        .filter(([key]) => key.startsWith('client.'))
        .map(([, m]) => m.name)
        .sort();
      const server = messages
        .filter(([key]) => key.startsWith('server.'))
        .map(([, m]) => m.name)
        .sort();

      const handled = Object.getOwnPropertyNames(RealtimeGateway.prototype)
        .map((name) => Reflect.getMetadata(MESSAGE_METADATA, (RealtimeGateway.prototype as any)[name]))
        .filter(Boolean)
        .sort();
      expect(client).toEqual(handled);
      expect(client).toEqual([...CLIENT_EVENTS].sort());
      expect(server).toEqual([...REPLY_EVENTS, ...DOMAIN_EVENT_NAMES].sort());
    });

    it('is served at /docs/asyncapi.json', async () => {
      const t = await startTestApp();
      try {
        const res = await t.http.get('/docs/asyncapi.json');
        expect(res.status).toBe(200);
        expect(res.body.asyncapi).toBe('3.0.0');
      } finally {
        await t.close();
      }
    });
  });
});
