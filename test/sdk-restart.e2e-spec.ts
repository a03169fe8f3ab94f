import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ChatMessage, Message } from '../client/src/index';
import { freePort } from '../src/common/free-port';
import { uniqueUsername } from './support/factories';
import { FakeNetwork } from '../client/test/support/fake-network';
import { createSdkClient, until, type SdkClient } from './support/sdk-clients';
import { spawnServer, waitHealthy, type ServerProcess } from './support/server-process';

/** One message per conversation per sender this often: steady traffic from every side. */
const PACE_MS = 40;
/** How long the server stays dead: the clients' first reconnect attempt (after ~1 s) fails. */
const OUTAGE_MS = 1_000;
/** For the clients to deliver and catch up after the restart: backoff 1, 2, 4 s, plus a slow start. */
const SETTLE_MS = 30_000;
const START = join(__dirname, '..', 'scripts', 'start.js');

interface Party extends SdkClient {
  name: string;
  id: string;
  /** clientMessageId → when it left the outbox (the server stored it, as this client learnt). */
  landedAt: Map<string, number>;
  /** 'message' events: others' messages, as they arrived. */
  received: Message[];
  syncedAt: number[];
  errors: Error[];
}

interface Sent {
  sender: string;
  conversationId: string;
  clientMessageId: string;
  content: string;
  sentAt: number;
}

/** The fields that must be equal on the server and in every client's store. */
const essence = (m: ChatMessage | Message) => ({
  id: m.id,
  seq: m.seq,
  senderId: m.senderId,
  content: m.content,
  clientMessageId: m.clientMessageId,
});

describe('the SDK against a real server process', () => {
  let server: ServerProcess | undefined;
  let dataDir: string;
  let env: Record<string, string>;
  let url: string;
  const opened: SdkClient[] = [];

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-sdk-restart-'));
    // A fixed port: the restarted process must listen where the clients keep reconnecting.
    env = {
      DATABASE_URL: process.env.DATABASE_URL!,
      JWT_SECRET: 'sdk-restart-secret-0123456789-abcdefghijklmnopqrstuvwxyz',
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      // All clients are 127.0.0.1 and send ~50 messages a second: only the rate-limit tests use real limits.
      RATE_REGISTER_PER_MIN: '1000000',
      RATE_REST_PER_MIN: '1000000',
      RATE_SEND_PER_SEC: '1000000',
      RATE_WS_PER_SEC: '1000000',
    };
    url = `http://127.0.0.1:${env.PORT}`;
    server = await spawnServer(env);
    await waitHealthy(server);
  }, 120_000); // the first start may compile (scripts/start.js)

  afterAll(async () => {
    await Promise.all(opened.map((sdk) => sdk.client.close()));
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A signed-in client (a new user) whose socket is live. */
  async function signedIn(name: string, network?: FakeNetwork) {
    const sdk = await createSdkClient(url, { network });
    opened.push(sdk);
    const user = await sdk.client.register(uniqueUsername(`sdk${name}`), 'password-1234', name);
    await until(
      [sdk.client],
      ['sync'],
      () => sdk.client.syncStatus === 'synced',
      () => sdk.client.syncStatus,
      10_000,
    );
    return { ...sdk, id: user.id };
  }

  it("emits 'message' for others' messages that a resume replays after their conversation's snapshot", async () => {
    const network = new FakeNetwork();
    const [a, b] = [await signedIn('A'), await signedIn('B', network)];
    const received: number[] = [];
    b.client.on('message', (m) => received.push(m.seq));
    const id = (await a.client.createDirect(b.id)).id;
    await until(
      [b.client],
      ['conversations'],
      () => !!b.client.conversation(id),
      () => 'no conversation',
      5_000,
    );
    // B goes offline; its sync token is still the one from before the conversation existed.
    network.set(false);
    expect(b.client.connectionState.status).toBe('offline');
    for (const content of ['one', 'two', 'three']) a.client.send(id, content);
    await until(
      [a.client],
      ['outbox'],
      () => a.client.outbox().length === 0,
      () => 'A not sent',
      5_000,
    );
    network.set(true);
    await until(
      [b.client],
      ['messages', 'sync'],
      () => b.client.syncStatus === 'synced' && b.client.messages(id).length === 3,
      () => `B holds ${b.client.messages(id).length}`,
      5_000,
    );
    // The replay is conversation.created (as it is now: lastSeq 3) and then message.created 1-3: the
    // store counts them unread and holds them, but took them for seen (seq <= the snapshot's lastSeq).
    // With a token from after the conversation's creation (b.client.syncNow() before going offline), all three come.
    expect(b.client.conversation(id)!.unreadCount).toBe(3);
    expect(received).toEqual([1, 2, 3]);
  });

  it('leaves no timer armed after close()', async () => {
    const sdk = await signedIn('closing');
    await sdk.client.close();
    expect(sdk.armedTimers()).toEqual([]);
  });

  it('stores messages sent in one go (the same millisecond) in the order they were sent', async () => {
    const [a, b] = [await signedIn('A'), await signedIn('B')];
    const id = (await a.client.createDirect(b.id)).id;
    const contents = Array.from({ length: 20 }, (_, i) => `burst ${i}`);
    for (const content of contents) a.client.send(id, content);
    await until(
      [a.client],
      ['outbox'],
      () => a.client.outbox().length === 0,
      () => 'A not sent',
      10_000,
    );
    // A burst shares its milliseconds: the outbox's order must not rest on the clock alone.
    expect(a.client.messages(id).map((m) => m.content)).toEqual(contents);
  });

  it('delivers every message of every side once, in order, across a SIGKILL and restart of the server', async () => {
    const parties: Party[] = [];
    for (const name of ['a', 'b', 'c']) {
      const sdk = await signedIn(name);
      const party: Party = { ...sdk, name, landedAt: new Map(), received: [], syncedAt: [], errors: [] };
      const note = (line: string) => party.stats.trace.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
      const pending = new Set<string>();
      // The outbox says when an item leaves it; the time it left is when this client learnt it was stored.
      party.client.on('outbox', () => {
        const now = new Set(party.client.outbox().map((item) => item.clientMessageId));
        for (const id of pending) {
          if (now.has(id)) continue;
          pending.delete(id);
          party.landedAt.set(id, Date.now());
        }
        for (const id of now) pending.add(id);
      });
      party.client.on('message', (message) => {
        party.received.push(message);
        note(`message ${message.conversationId.slice(0, 8)} ${message.seq}`);
      });
      party.client.on('sync', ({ status }) => {
        if (status === 'synced') party.syncedAt.push(Date.now());
        note(`sync ${status}`);
      });
      party.client.on('connection', (state) => note(`connection ${JSON.stringify(state)}`));
      // Background failures (a REST catch-up while the server is down) are expected; they are counted.
      party.client.on('error', (error) => {
        party.errors.push(error);
        note(`error ${error.message}`);
      });
      parties.push(party);
    }
    const [a, b, c] = parties;
    const all = parties.map((p) => p.client);
    const direct = (await a.client.createDirect(b.id)).id;
    const group = (await a.client.createGroup('restart', [b.id, c.id])).id;
    const members = new Map([
      [direct, [a, b]],
      [group, [a, b, c]],
    ]);
    await until(
      all,
      ['conversations'],
      () => parties.every((p) => [...members].every(([id, of]) => !of.includes(p) || p.client.conversation(id))),
      () => parties.map((p) => `${p.name}: ${p.client.conversations().length}`).join('; '),
      10_000,
    );

    // Every side sends at a steady pace, whatever the server is doing: the outbox holds what cannot leave.
    const sent: Sent[] = [];
    let sending = true;
    const senders = parties.map(async (p) => {
      const targets = [...members].filter(([, of]) => of.includes(p)).map(([id]) => id);
      for (let i = 0; sending; i++) {
        for (const conversationId of targets) {
          const content = `${p.name} ${i} ${conversationId === direct ? 'direct' : 'group'}`;
          const { clientMessageId } = p.client.send(conversationId, content);
          sent.push({ sender: p.name, conversationId, clientMessageId: clientMessageId!, content, sentAt: Date.now() });
        }
        await delay(PACE_MS);
      }
    });

    try {
      // The conversation is under way on the socket.
      await until(
        all,
        ['message'],
        () => parties.every((p) => p.received.length >= 10),
        () => parties.map((p) => `${p.name} received ${p.received.length}`).join('; '),
        10_000,
      );

      const killedAt = Date.now();
      server!.child.kill('SIGKILL');
      expect((await server!.exited).signal).toBe('SIGKILL');
      await until(
        all,
        ['connection'],
        () => all.every((client) => client.connectionState.status !== 'open'),
        () => all.map((client) => client.connectionState.status).join(', '),
        5_000,
      );
      await delay(OUTAGE_MS); // the outage itself: nothing to await
      const respawnedAt = Date.now();
      // Same database, same port, same secret; no build on the way (the first start made it current).
      server = await spawnServer(env, { script: [START, '--no-build'] });
      await waitHealthy(server, 30_000);
      const healthyAt = Date.now();

      // Keep sending until every client is live again and its sends flow again.
      await until(
        all,
        ['sync', 'connection', 'outbox'],
        () =>
          parties.every(
            (p) =>
              p.client.syncStatus === 'synced' && [...p.landedAt.values()].filter((t) => t >= healthyAt).length >= 10,
          ),
        () =>
          parties
            .map((p) => `${p.name}: ${JSON.stringify(p.client.connectionState)} ${p.client.syncStatus}`)
            .join('; '),
        SETTLE_MS,
      );
      sending = false;
      await Promise.all(senders);

      // Everything sent is stored and held by every member, nothing is pending, nothing failed.
      const expected = (id: string) => sent.filter((s) => s.conversationId === id).length;
      await until(
        all,
        ['outbox', 'messages', 'sync', 'connection'],
        () => {
          const failed = parties.flatMap((p) => p.client.outbox().filter((item) => item.status === 'failed'));
          if (failed.length) throw new Error(`failed in the outbox: ${JSON.stringify(failed)}`);
          return parties.every(
            (p) =>
              p.client.outbox().length === 0 &&
              [...members].every(([id, of]) => !of.includes(p) || p.client.messages(id).length >= expected(id)),
          );
        },
        () => {
          const held = (p: Party) => [...members].map(([id]) => p.client.messages(id).length);
          const state = parties.map((p) => `${p.name}: outbox ${p.client.outbox().length}, held ${held(p)}`);
          return `${state.join('; ')}; sent ${[...members].map(([id]) => expected(id))}`;
        },
        SETTLE_MS,
      );

      // The server's record: every message once, seqs gapless, each sender's in the order sent.
      const token = a.client.session.current!.accessToken;
      let missedEvents = 0;
      for (const [id, of] of members) {
        const stored = await serverMessages(url, id, token);
        const mine = sent.filter((s) => s.conversationId === id);
        expect(stored.map((m) => m.seq)).toEqual(stored.map((_, i) => i + 1));
        expect(duplicates(stored.map((m) => m.clientMessageId))).toEqual([]);
        expect(stored.map((m) => m.clientMessageId).sort()).toEqual(mine.map((s) => s.clientMessageId).sort());
        const byId = new Map(mine.map((s) => [s.clientMessageId, s]));
        for (const m of stored) {
          const origin = byId.get(m.clientMessageId!)!;
          expect({ content: m.content, senderId: m.senderId }).toEqual({
            content: origin.content,
            senderId: parties.find((p) => p.name === origin.sender)!.id,
          });
        }
        for (const p of of) {
          expect({
            sender: p.name,
            order: stored.filter((m) => m.senderId === p.id).map((m) => m.clientMessageId),
          }).toEqual({
            sender: p.name,
            order: mine.filter((s) => s.sender === p.name).map((s) => s.clientMessageId),
          });
        }
        // Every member's store is the server's list, with nothing pending: others' messages held once each.
        for (const p of of) {
          const held = p.client.messages(id);
          expect({ client: p.name, held: held.map(essence) }).toEqual({ client: p.name, held: stored.map(essence) });
          expect(held.filter((m) => m.seq === null || m.status === 'sending' || m.status === 'failed')).toEqual([]);
          // 'message' events: never twice, never out of order, never one's own. That there is one for each
          // of the others' messages is the first test's (a resume after a snapshot skips some).
          const events = p.received.filter((m) => m.conversationId === id).map((m) => m.seq);
          const others = stored.filter((m) => m.senderId !== p.id).map((m) => m.seq);
          expect({ client: p.name, events }).toEqual({
            client: p.name,
            events: others.filter((s) => events.includes(s)),
          });
          missedEvents += others.length - events.length;
        }
      }

      // The figures of this run.
      const during = sent.filter((s) => s.sentAt >= killedAt && s.sentAt < healthyAt).length;
      const perConversation = [...members].map(([id]) => `${id === direct ? 'direct' : 'group'} ${expected(id)}`);
      const figures = parties.map((p) => {
        const landed = Math.min(...[...p.landedAt.values()].filter((t) => t >= respawnedAt));
        const synced = Math.min(...p.syncedAt.filter((t) => t >= respawnedAt));
        const { socketSends, restSends, restSendsOk } = p.stats;
        return (
          `${p.name}: first send stored ${landed - killedAt} ms after the kill (${landed - healthyAt} ms after ` +
          `healthy), synced again ${synced - healthyAt} ms after healthy; message.send frames ${socketSends}, ` +
          `REST sends ${restSends} (${restSendsOk} answered); background errors ${p.errors.length}`
        );
      });
      console.log(
        [
          `sent ${sent.length} (${perConversation.join(', ')}), ${during} between the kill and healthy again`,
          `restarted ${respawnedAt - killedAt} ms after the kill, healthy ${healthyAt - respawnedAt} ms later`,
          ...figures,
          `'message' events missing (held, but no event): ${missedEvents}`,
        ].join('\n'),
      );
      expect(during).toBeGreaterThan(0);
    } catch (error) {
      for (const p of parties) console.log(`${p.name} (${p.id})\n${p.stats.trace.join('\n')}`);
      throw error;
    } finally {
      sending = false;
      await Promise.all(senders);
    }
  }, 90_000);
});

/** GET .../messages page by page (`after`), as the server stores them. */
async function serverMessages(url: string, conversationId: string, token: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const after = all.length ? all[all.length - 1].seq : 0;
    const res = await fetch(`${url}/api/v1/conversations/${conversationId}/messages?after=${after}&limit=100`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { items: Message[]; hasMore: boolean };
    all.push(...page.items);
    if (!page.hasMore) return all;
  }
}

function duplicates<T>(values: T[]): T[] {
  const seen = new Set<T>();
  return values.filter((v) => seen.has(v) || !seen.add(v));
}
