import { systemClock } from '../src/clock.js';
import { ACK_TIMEOUT_MS } from '../src/outbox.js';
import { advance, FakeParley, settle, signedIn, device, useFakeTime, DurableMemoryStorage } from './support/harness.js';

beforeEach(() => useFakeTime());
afterEach(() => jest.useRealTimers());

async function pair() {
  const server = new FakeParley();
  const a = await signedIn(server, 'alice');
  const b = await signedIn(server, 'bob');
  const conversation = await a.client.createDirect(b.client.user!.id);
  await advance(0);
  return { server, a, b, conversationId: conversation.id };
}

describe('ParleyClient against a scripted server', () => {
  it('sends at once as `sending`, then `sent` on the ack; the other side gets it once', async () => {
    const { server, a, b, conversationId } = await pair();
    const received: string[] = [];
    b.client.on('message', (m) => received.push(m.content!));
    const optimistic = a.client.send(conversationId, 'hello');
    expect(optimistic).toMatchObject({ status: 'sending', seq: null, content: 'hello' });
    expect(a.client.messages(conversationId).map((m) => m.status)).toEqual(['sending']);
    await advance(0);
    expect(a.client.messages(conversationId)).toMatchObject([{ seq: 1, content: 'hello', status: 'sent' }]);
    expect(received).toEqual(['hello']);
    expect(b.client.conversation(conversationId)!.unreadCount).toBe(1);
    expect(server.stored(conversationId)).toHaveLength(1);
    // The receiver acknowledges delivery by itself; the sender sees it.
    await advance(300);
    expect(a.client.messages(conversationId)[0].status).toBe('delivered');
    b.client.markRead(conversationId);
    expect(b.client.unreadTotal()).toBe(0);
    await advance(0);
    expect(a.client.messages(conversationId)[0].status).toBe('read');
    expect(server.unreadFor(conversationId, b.client.user!.id)).toBe(0);
  });

  it('refuses at once what the server would refuse (empty, too long, NUL, unknown conversation): nothing queued', async () => {
    const { a, conversationId } = await pair();
    for (const content of ['   ', 'x'.repeat(4_001), 'a\u0000b']) {
      expect(() => a.client.send(conversationId, content)).toThrow(expect.objectContaining({ kind: 'invalid' }));
    }
    expect(() => a.client.send('00000000-0000-4000-8000-000000000000', 'hi')).toThrow(
      expect.objectContaining({ kind: 'invalid' }),
    );
    expect(a.client.outbox()).toEqual([]);
  });

  it('waits 5 s for the ack, retries after 1, 2 and 4 s with the same clientMessageId, then fails; retry() sends it', async () => {
    const { server, a, conversationId } = await pair();
    server.sendFaults.push('drop', 'drop', 'drop', 'drop');
    const start = Date.now();
    const { clientMessageId } = a.client.send(conversationId, 'lost in transit');
    await advance(0);
    await advance(5 * ACK_TIMEOUT_MS + 1_000 + 2_000 + 4_000);
    const times = server.sendAttempts.filter((s) => s.clientMessageId === clientMessageId).map((s) => s.at - start);
    expect(times).toEqual([0, 6_000, 13_000, 22_000]);
    expect(a.client.messages(conversationId)).toMatchObject([{ status: 'failed', error: { kind: 'timeout' } }]);
    expect(a.client.retry(clientMessageId!)).toBe(true);
    await advance(0);
    expect(a.client.messages(conversationId)).toMatchObject([{ seq: 1, status: 'sent', clientMessageId }]);
    expect(server.stored(conversationId)).toHaveLength(1);
  });

  it('a message stored whose ack (and push) was lost is stored once: the retry is answered with the original', async () => {
    const { server, a, conversationId } = await pair();
    server.sendFaults.push('store-no-ack');
    // Its own message.created would tell the sender too: lose it as well, for good.
    server.skipPush = (entry) => entry.event === 'message.created';
    server.repairAfterMs = undefined;
    a.client.send(conversationId, 'once');
    await advance(ACK_TIMEOUT_MS + 1_000);
    expect(server.sendAttempts).toHaveLength(2);
    expect(server.stored(conversationId)).toHaveLength(1);
    expect(a.client.messages(conversationId)).toMatchObject([{ seq: 1, status: 'sent', content: 'once' }]);
  });

  it('offline: queues, sends nothing; back online: each message once, in order', async () => {
    const { server, a, b, conversationId } = await pair();
    a.network.set(false);
    await advance(0);
    expect(a.client.connectionState).toEqual({ status: 'offline' });
    for (const text of ['one', 'two', 'three']) a.client.send(conversationId, text);
    await advance(60_000);
    expect(server.sendAttempts).toHaveLength(0);
    expect(a.client.outbox()).toHaveLength(3);
    a.network.set(true);
    await advance(0);
    expect(server.stored(conversationId).map((m) => [m.seq, m.content])).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
    ]);
    expect(b.client.messages(conversationId).map((m) => m.content)).toEqual(['one', 'two', 'three']);
    expect(a.client.outbox()).toHaveLength(0);
  });

  it('a reload (a new client on the same storage) sends what was unsent, once, and keeps the store', async () => {
    const { server, a, conversationId } = await pair();
    a.network.set(false);
    a.client.send(conversationId, 'written offline');
    await advance(0);
    await a.client.close();
    const reloaded = await device(server, { storage: a.storage });
    expect(reloaded.client.user?.username).toBe('alice');
    expect(reloaded.client.conversations().map((c) => c.id)).toEqual([conversationId]);
    expect(reloaded.client.messages(conversationId)).toMatchObject([{ content: 'written offline', status: 'sending' }]);
    await advance(0);
    expect(server.stored(conversationId).map((m) => m.content)).toEqual(['written offline']);
    expect(reloaded.client.messages(conversationId)).toMatchObject([{ seq: 1, status: 'sent' }]);
  });

  it('a reload after the server stored the message but before the ack: not doubled', async () => {
    const { server, a, conversationId } = await pair();
    server.sendFaults.push('store-no-ack');
    a.client.send(conversationId, 'ack lost');
    await advance(0);
    await a.client.close();
    const reloaded = await device(server, { storage: a.storage });
    await advance(0);
    expect(server.stored(conversationId)).toHaveLength(1);
    expect(reloaded.client.messages(conversationId)).toMatchObject([{ seq: 1, content: 'ack lost', status: 'sent' }]);
    expect(reloaded.client.outbox()).toEqual([]);
  });

  it('the server dies: reconnects with backoff 1, 2, 4 s and resumes; nothing missed, nothing twice', async () => {
    const server = new FakeParley();
    const a = await signedIn(server, 'alice');
    // Jitter at its middle: the delays are the base ones.
    const b = await signedIn(server, 'bob', { clock: { ...systemClock, random: () => 0.5 } });
    const { id: conversationId } = await a.client.createDirect(b.client.user!.id);
    await advance(0);
    const states: string[] = [];
    b.client.on('connection', (s) => states.push(s.status === 'reconnecting' ? `reconnecting ${s.delay}` : s.status));
    server.kill();
    await advance(0);
    server.revive();
    // While b is away, a posts through REST (its socket is down too): b must get them on resume.
    server.post(conversationId, a.client.user!.id, 'while you were away');
    server.kill();
    await advance(3_000);
    server.revive();
    await advance(5_000);
    expect(states.filter((s) => s.startsWith('reconnecting'))).toEqual([
      'reconnecting 1000',
      'reconnecting 2000',
      'reconnecting 4000',
    ]);
    expect(b.client.connectionState.status).toBe('open');
    expect(b.client.messages(conversationId).map((m) => m.content)).toEqual(['while you were away']);
    expect(b.client.conversation(conversationId)!.unreadCount).toBe(1);
  });

  it('a push lost on its way (a seq gap seen live) is fetched at once', async () => {
    const { server, a, b, conversationId } = await pair();
    const bob = b.client.user!.id;
    server.skipPush = (entry, userId) => userId === bob && entry.event === 'message.created' && entry.pos === 2;
    a.client.send(conversationId, 'first');
    await advance(0);
    a.client.send(conversationId, 'second');
    await advance(0);
    expect(b.client.messages(conversationId).map((m) => m.seq)).toEqual([1, 2]);
    expect(b.client.conversation(conversationId)!.unreadCount).toBe(2);
  });

  it('a refused sync token: bootstraps again, then resumes from the new one', async () => {
    const { server, b, conversationId } = await pair();
    await b.client.close();
    // A token the server no longer knows (retention): the resume is refused.
    const storage = b.storage as DurableMemoryStorage;
    await storage.write([{ key: `${b.client.user!.id}/cursor`, value: { token: '999999' } }]);
    server.post(conversationId, [...server.users.values()][0].id, 'after the token');
    const again = await device(server, { storage });
    await advance(0);
    expect(again.client.syncStatus).toBe('synced');
    expect(again.client.conversation(conversationId)).toMatchObject({ unreadCount: 1, lastSeq: 1 });
  });

  it('4401 at connect (expired token): refreshes, then reconnects at once', async () => {
    const server = new FakeParley();
    server.accessTtl = 60;
    const a = await signedIn(server, 'alice');
    server.closeAll(4401, 'token_expired');
    await advance(0);
    expect(a.client.connectionState.status).toBe('open');
    expect(a.client.session.current!.accessToken).not.toBe(undefined);
  });

  it('a silent link is found by ping: 15 s quiet, 5 s without answer, then reconnect', async () => {
    const { server, a } = await pair();
    const closes: number[] = [];
    a.client.on('connection', (s) => s.status === 'reconnecting' && closes.push(s.closeCode ?? 0));
    server.silent = true;
    await advance(15_000 + 4_999);
    expect(a.client.connectionState.status).toBe('open');
    await advance(1);
    expect(closes).toEqual([1006]);
    server.silent = false;
    await settle();
  });

  it('presence, which the log does not carry, is read anew after each (re)connect', async () => {
    const { server, a, b } = await pair();
    const bob = b.client.user!.id;
    expect(a.client.presenceOf(bob).online).toBe(true);
    await b.client.close();
    await a.client.close();
    // The fake server pushes no presence events: only the read after `synced` can tell.
    const alice = await device(server, { storage: a.storage });
    await advance(0);
    expect(alice.client.presenceOf(bob).online).toBe(false);
    const bobAgain = await device(server, { storage: b.storage });
    await advance(0);
    server.closeAll(1001, 'server shutting down', alice.client.user!.id);
    await advance(0);
    expect(alice.client.connectionState.status).toBe('open');
    expect(alice.client.presenceOf(bob).online).toBe(true);
    await Promise.all([alice.client.close(), bobAgain.client.close()]);
  });
});

describe('ParleyClient: answers and changes that cross', () => {
  it('a history page made before a delete, arriving after it, does not bring the content back', async () => {
    const { server, a, b, conversationId } = await pair();
    const bob = b.client.user!.id;
    // Bob never gets the message live (lost for good), so that he does not hold it.
    server.repairAfterMs = undefined;
    server.skipPush = (entry, userId) => userId === bob && entry.event === 'message.created';
    a.client.send(conversationId, 'regret');
    await advance(0);
    server.skipPush = undefined;
    const [message] = server.stored(conversationId);
    server.answerDelay = (method, path) => (method === 'GET' && path.endsWith('/messages') ? 100 : undefined);
    const loading = b.client.loadMessages(conversationId);
    await advance(0); // the page is made now, with the content
    server.deleteMessage(conversationId, message.id);
    await advance(0); // the delete reaches Bob first
    await advance(100);
    await loading;
    expect(b.client.messages(conversationId)).toMatchObject([{ id: message.id, deleted: true, content: null }]);
    expect(b.client.conversation(conversationId)!.unreadCount).toBe(0);
  });

  it('markRead past the last message is clamped: the count does not run ahead, nothing stays pending', async () => {
    const { server, a, b, conversationId } = await pair();
    a.client.send(conversationId, 'one');
    await advance(0);
    b.client.markRead(conversationId, 100);
    await advance(0);
    a.client.send(conversationId, 'two');
    await advance(0);
    expect(b.client.conversation(conversationId)!.unreadCount).toBe(1);
    expect(server.unreadFor(conversationId, b.client.user!.id)).toBe(1);
    expect(await b.storage.get(`${b.client.user!.id}/reads`)).toEqual([]);
  });

  it('a storage write that fails is written with the next one: a reload never sees a cursor ahead of its state', async () => {
    const { server, a, b, conversationId } = await pair();
    const storage = b.storage as DurableMemoryStorage;
    a.client.send(conversationId, 'kept');
    await advance(200); // stored and persisted on Bob's side
    const write = storage.write.bind(storage);
    let failures = 1;
    storage.write = async (ops) => {
      if (failures > 0 && ops.some((op) => op.key.endsWith('/cursor'))) {
        failures--;
        throw new Error('QuotaExceededError');
      }
      return write(ops);
    };
    const errors: string[] = [];
    b.client.on('error', (error) => errors.push(error.message));
    server.deleteMessage(conversationId, server.stored(conversationId)[0].id);
    await advance(100); // the flush of the delete fails
    expect(errors).toEqual(['QuotaExceededError']);
    // A later change of another message: its write must carry the delete too.
    a.client.send(conversationId, 'later');
    await advance(2_000);
    await b.client.close();
    const reloaded = await device(server, { storage });
    expect(reloaded.client.messages(conversationId).map((m) => [m.seq, m.content])).toEqual([
      [1, null],
      [2, 'later'],
    ]);
    expect(reloaded.client.conversation(conversationId)!.unreadCount).toBe(1);
  });
});
