/**
 * "Nothing lost, nothing doubled", as properties over random runs against the scripted
 * server: sends from three users over a direct conversation and a group, while the server
 * dies and comes back, acks and frames are lost, pushes go missing (live gaps), devices go
 * offline, and pages reload (a new client on the same storage).
 */
import fc from 'fast-check';
import type { Device } from './support/harness.js';
import { advance, device, FakeParley, signedIn, useFakeTime } from './support/harness.js';

beforeEach(() => useFakeTime());
afterEach(() => jest.useRealTimers());

type Op =
  | { kind: 'send'; user: number; group: boolean }
  | { kind: 'wait'; ms: number }
  | { kind: 'kill'; ms: number }
  | { kind: 'fault'; fault: 'drop' | 'store-no-ack' }
  | { kind: 'skipPush'; user: number }
  | { kind: 'offline'; user: number; ms: number }
  | { kind: 'reload'; user: number }
  | { kind: 'read'; user: number; group: boolean }
  | { kind: 'delete'; index: number };

const user = fc.integer({ min: 0, max: 2 });
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('send' as const), user, group: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 8_000 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('kill' as const), ms: fc.integer({ min: 0, max: 10_000 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('fault' as const),
      fault: fc.constantFrom('drop' as const, 'store-no-ack' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('skipPush' as const), user }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('offline' as const), user, ms: fc.integer({ min: 0, max: 10_000 }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reload' as const), user }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), user, group: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), index: fc.nat() }) },
);

async function run(ops: Op[]): Promise<void> {
  const server = new FakeParley();
  const devices: Device[] = [];
  // `message` events per user, across reloads (one storage per user): message id → count.
  const announced = [new Map<string, number>(), new Map<string, number>(), new Map<string, number>()];
  const listen = (i: number) =>
    devices[i].client.on('message', (m) => announced[i].set(m.id, (announced[i].get(m.id) ?? 0) + 1));
  // Storage keeps 3 messages per conversation: a reload holds fewer than it was sent, as after a long day.
  const options = { persistedMessages: 3 };
  for (const name of ['ann', 'ben', 'cat']) devices.push(await signedIn(server, name, options));
  devices.forEach((_, i) => listen(i));
  const ids = devices.map((d) => d.client.user!.id);
  const direct = (await devices[0].client.createDirect(ids[1])).id;
  const group = (await devices[0].client.createGroup('three', [ids[1], ids[2]])).id;
  await advance(0);
  const sent: { user: number; conversationId: string; clientMessageId: string }[] = [];
  const skips = new Set<string>();
  server.skipPush = (entry, userId) => entry.event === 'message.created' && skips.delete(userId);
  let n = 0;

  for (const step of ops) {
    switch (step.kind) {
      case 'send': {
        // Ben is not in... everyone is in the group; the direct one is Ann and Ben's.
        const sender = step.group ? step.user : step.user % 2;
        const conversationId = step.group ? group : direct;
        const message = devices[sender].client.send(conversationId, `m${n++} from ${sender}`);
        sent.push({ user: sender, conversationId, clientMessageId: message.clientMessageId! });
        break;
      }
      case 'wait':
        await advance(step.ms);
        break;
      case 'kill':
        server.kill();
        await advance(step.ms);
        server.revive();
        break;
      case 'fault':
        server.sendFaults.push(step.fault);
        break;
      case 'skipPush':
        skips.add(ids[step.user]);
        break;
      case 'offline':
        devices[step.user].network.set(false);
        await advance(step.ms);
        devices[step.user].network.set(true);
        break;
      case 'reload': {
        const old = devices[step.user];
        await old.client.close();
        devices[step.user] = await device(server, { ...options, storage: old.storage, network: old.network });
        listen(step.user);
        break;
      }
      case 'delete': {
        const messages = server.stored(group);
        if (messages.length) {
          const target = messages[step.index % messages.length];
          server.deleteMessage(group, target.id);
        }
        break;
      }
      case 'read': {
        const reader = step.group ? step.user : step.user % 2;
        devices[reader].client.markRead(step.group ? group : direct);
        break;
      }
    }
  }

  // Settle: everything up, then retry what failed (as a user would) until the outboxes are empty.
  server.revive();
  server.sendFaults.length = 0;
  skips.clear();
  for (const d of devices) d.network.set(true);
  for (let round = 0; round < 20 && devices.some((d) => d.client.outbox().length); round++) {
    await advance(30_000);
    for (const d of devices)
      for (const item of d.client.outbox()) if (item.status === 'failed') d.client.retry(item.clientMessageId);
  }
  await advance(30_000);

  // Each message sent is stored exactly once (at least once: retries; at most once: idempotency).
  const stored = [...server.messages.values()].flat();
  const byClientId = new Map(stored.map((m) => [m.clientMessageId, m]));
  expect(stored.length).toBe(byClientId.size);
  expect(new Set(sent.map((s) => s.clientMessageId))).toEqual(new Set(stored.map((m) => m.clientMessageId)));
  // (Deleted ones included: their rows stay, without content.)
  // In order: per sender and conversation, seqs follow the order of send().
  for (const conversationId of [direct, group]) {
    for (const sender of [0, 1, 2]) {
      const seqs = sent
        .filter((s) => s.user === sender && s.conversationId === conversationId)
        .map((s) => byClientId.get(s.clientMessageId)!.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    }
  }
  // Every client ends with the server's state: the messages, once each, and the unread counts.
  for (const [i, d] of devices.entries()) {
    for (const conversationId of i === 2 ? [group] : [direct, group]) {
      // A reload holds the newest few: the rest is history, fetched as a UI scrolling up would.
      while (d.client.hasOlderMessages(conversationId)) {
        const oldest = d.client.messages(conversationId).find((m) => m.seq !== null)?.seq ?? undefined;
        await d.client.loadMessages(conversationId, { before: oldest ?? undefined, limit: 2 });
      }
      const expected = server.stored(conversationId).map((m) => `${m.seq}:${m.id}:${m.content}`);
      expect(d.client.messages(conversationId).map((m) => `${m.seq}:${m.id}:${m.content}`)).toEqual(expected);
      expect(d.client.conversation(conversationId)!.unreadCount).toBe(server.unreadFor(conversationId, ids[i]));
    }
    expect(d.client.outbox()).toEqual([]);
    // `message`: never twice, none for one's own; once for each message of the others, unless it was
    // deleted, or marked read, before it came.
    for (const conversationId of i === 2 ? [group] : [direct, group]) {
      const marker = server
        .conversationFor(server.conversations.get(conversationId)!, ids[i])
        .participants.find((p) => p.id === ids[i])!.lastReadSeq;
      for (const m of server.stored(conversationId)) {
        const count = announced[i].get(m.id) ?? 0;
        if (m.senderId === ids[i]) expect([m.seq, count]).toEqual([m.seq, 0]);
        else if (m.deleted || m.seq <= marker) expect(count).toBeLessThanOrEqual(1);
        else expect([m.seq, count]).toEqual([m.seq, 1]);
      }
    }
  }
  for (const d of devices) await d.client.close();
}

describe('delivery under faults (property)', () => {
  it('every message is stored once, in order per sender, and every client ends with the server state', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) => {
        if (process.env.OPS) ops = JSON.parse(process.env.OPS) as Op[];
        if (process.env.TRACE) require('fs').writeFileSync('/tmp/last-ops.json', JSON.stringify(ops));
        await run(ops);
      }),
      { numRuns: Number(process.env.RUNS ?? 150) },
    );
  }, 120_000);
});
