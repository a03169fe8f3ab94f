import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { createGroup, openDirect, registerUser, type RegisteredUser } from './support/factories';
import { recordEvents } from './support/events';
import { EventBus } from '../src/events/event-bus';
import { MessagesService } from '../src/messages/messages.service';
import { countQueries } from './support/query-counter';
import { startTestApp, type TestApp } from './support/test-app';

/** Correctness under concurrency: nothing lost, reordered or doubled. */
describe('concurrency', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DATABASE_POOL_SIZE: '10' });
  });
  afterAll(() => t.close());

  const send = (who: RegisteredUser, conversationId: string, body: object) =>
    t.http.post(`/api/v1/conversations/${conversationId}/messages`, body, { token: who.accessToken });

  it('20 parallel sends with one clientMessageId make one row and one event', async () => {
    const [a, b] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, a, b);
    const rec = recordEvents(t);
    const results = await Promise.all(
      Array.from({ length: 20 }, () => send(a, id, { content: 'only once', clientMessageId: 'same-key' })),
    );
    rec.stop();
    expect(results.map((r) => r.status).sort()).toEqual([...Array(19).fill(200), 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(rec.of('message.created')).toHaveLength(1);
    const [{ rows, last_seq }] = await t.dataSource.query(
      `SELECT (SELECT count(*)::int FROM messages WHERE conversation_id = $1) AS rows, last_seq FROM conversations WHERE id = $1`,
      [id],
    );
    expect({ rows, last_seq }).toEqual({ rows: 1, last_seq: 1 });
  });

  it('12 parallel direct creates make one conversation', async () => {
    const [a, b] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const rec = recordEvents(t);
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 2
          ? t.http.post('/api/v1/conversations', { type: 'direct', participantId: b.id }, { token: a.accessToken })
          : t.http.post('/api/v1/conversations', { type: 'direct', participantId: a.id }, { token: b.accessToken }),
      ),
    );
    rec.stop();
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    expect(new Set(results.map((r) => r.body.id)).size).toBe(1);
    expect(rec.of('conversation.created')).toHaveLength(1);
    const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM conversations WHERE direct_key = $1`, [
      [a.id, b.id].sort().join(':'),
    ]);
    expect(n).toBe(1);
  });

  it('50 parallel sends from several users make seqs 1..50 with no gap, one event each', async () => {
    const users = await Promise.all([0, 1, 2, 3, 4].map(() => registerUser(t.http)));
    const group = await createGroup(t.http, users[0], users.slice(1));
    const rec = recordEvents(t);
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => send(users[i % 5], group, { content: `m${i}`, clientMessageId: `k${i}` })),
    );
    rec.stop();
    expect(results.every((r) => r.status === 201)).toBe(true);
    const seqs = results.map((r) => r.body.seq).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const evented = rec
      .of('message.created')
      .map((e) => e.payload.message.seq)
      .sort((x, y) => x - y);
    expect(evented).toEqual(seqs);
    const stored = await t.dataSource.query('SELECT seq FROM messages WHERE conversation_id = $1 ORDER BY seq', [
      group,
    ]);
    expect(stored.map((r: { seq: number }) => r.seq)).toEqual(seqs);
  });

  it('failed sends in the crowd burn no seq and emit nothing', async () => {
    const [a, b] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, a, b);
    const rec = recordEvents(t);
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        i % 3 === 0
          ? send(a, id, { content: 'bad reply', replyToId: randomUUID() }) // rolled back after taking a seq
          : i % 3 === 1
            ? send(b, id, { content: `ok${i}` })
            : send(a, id, { content: 'dup', clientMessageId: 'crowd-dup' }),
      ),
    );
    rec.stop();
    const created = results.filter((r) => r.status === 201);
    expect(results.filter((r) => r.status === 400)).toHaveLength(10);
    expect(created).toHaveLength(11); // 10 distinct + the first of the duplicates
    expect(created.map((r) => r.body.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 11 }, (_, i) => i + 1));
    expect(rec.of('message.created')).toHaveLength(11);
  });

  it('batches sends that arrive together: fewer statements than sends, each conversation gapless', async () => {
    const users = await Promise.all(Array.from({ length: 16 }, () => registerUser(t.http)));
    const conversations = await Promise.all(
      Array.from({ length: 8 }, (_, i) => openDirect(t.http, users[2 * i], users[2 * i + 1])),
    );
    const rec = recordEvents(t);
    // Straight to the service, all in one tick: while the first statements are in flight,
    // the rest queue and go together, several batches at once, each touching all 8
    // conversations (locked in one order, so concurrent batches never deadlock).
    const messages = t.app.get(MessagesService);
    const { result: results, queries } = await countQueries(() =>
      Promise.all(
        Array.from({ length: 400 }, (_, i) => {
          const pair = i % 8;
          return messages.send(users[2 * pair + (i % 2)].id, conversations[pair], {
            content: `b${i}`,
            clientMessageId: `b${i}`,
          });
        }),
      ),
    );
    rec.stop();
    expect(results.every((r) => r.created)).toBe(true);
    const sends = queries.filter((q) => q.includes('INSERT INTO messages'));
    expect(sends.length).toBeLessThan(20);
    for (const id of conversations) {
      const seqs = results
        .filter((r) => r.message.conversationId === id)
        .map((r) => r.message.seq)
        .sort((x, y) => x - y);
      expect(seqs).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    }
    expect(rec.of('message.created')).toHaveLength(400);
  });

  it('answers each send of a batch on its own: an outsider gets 404, a retry the original, the rest 201', async () => {
    const [a, b, outsider] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, a, b);
    const first = await send(a, id, { content: 'original', clientMessageId: 'again' });
    const rec = recordEvents(t);
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        i % 4 === 0
          ? send(outsider, id, { content: 'let me in' })
          : i % 4 === 1
            ? send(a, id, { content: 'original', clientMessageId: 'again' })
            : send(b, id, { content: `ok${i}` }),
      ),
    );
    rec.stop();
    expect(results.filter((_, i) => i % 4 === 0).every((r) => r.status === 404)).toBe(true);
    expect(results.filter((_, i) => i % 4 === 1).every((r) => r.status === 200 && r.body.id === first.body.id)).toBe(
      true,
    );
    const created = results.filter((r) => r.status === 201);
    expect(created).toHaveLength(12);
    expect(created.map((r) => r.body.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 2));
    expect(rec.of('message.created')).toHaveLength(12);
  });

  it('gives every kind of send in one batch its own answer: replies, bad replies, outsiders, retries', async () => {
    const [a, b, outsider] = await Promise.all([registerUser(t.http), registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, a, b);
    const other = await openDirect(t.http, a, outsider);
    const messages = t.app.get(MessagesService);
    const target = await messages.send(a.id, id, { content: 'reply to me' });
    const elsewhere = await messages.send(a.id, other, { content: 'not in this conversation' });
    // The fillers take every statement in flight; the rest, sent in the same tick, make one batch.
    const inOneBatch = (sends: (() => ReturnType<MessagesService['send']>)[]) =>
      countQueries(async () => {
        const fillers = [0, 1, 2, 3].map((i) => messages.send(b.id, id, { content: `filler${i}` }));
        const outcomes = await Promise.allSettled(sends.map((send) => send()));
        await Promise.all(fillers);
        return outcomes;
      });
    const rec = recordEvents(t);

    const mixed = await inOneBatch([
      () => messages.send(b.id, id, { content: 'a reply', replyToId: target.message.id }),
      () => messages.send(b.id, id, { content: 'bad reply', replyToId: elsewhere.message.id }),
      () => messages.send(outsider.id, id, { content: 'let me in' }),
      () => messages.send(b.id, id, { content: 'last' }),
    ]);
    expect(mixed.queries.filter((q) => q.includes('unnest'))).toHaveLength(1);
    const [reply, badReply, intruder, last] = mixed.result;
    expect(reply).toMatchObject({
      status: 'fulfilled',
      value: { created: true, message: { replyToId: target.message.id } },
    });
    expect(badReply).toMatchObject({ status: 'rejected', reason: { status: 400 } });
    expect(intruder).toMatchObject({ status: 'rejected', reason: { status: 404 } });
    expect(last).toMatchObject({ status: 'fulfilled', value: { created: true } });

    // Two sends of one clientMessageId in a batch: the batch is refused whole, then each
    // goes alone: one is stored, the other gets it back as a retry.
    const retried = await inOneBatch([
      () => messages.send(a.id, id, { content: 'plain', clientMessageId: 'batch-k1' }),
      () => messages.send(a.id, id, { content: 'plain', clientMessageId: 'batch-k1' }),
      () => messages.send(b.id, id, { content: 'bystander' }),
    ]);
    const kept = retried.result.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
    expect(kept.map((k) => k?.created).sort()).toEqual([false, true, true]);
    expect(kept[0]?.message.id).toBe(kept[1]?.message.id);
    rec.stop();

    // 4 fillers + reply + last, then 4 fillers + one of the retries + bystander: seqs 2..13, no gap.
    const [{ last_seq }] = await t.dataSource.query('SELECT last_seq FROM conversations WHERE id = $1', [id]);
    expect(last_seq).toBe(13);
    expect(rec.of('message.created')).toHaveLength(12);
  });

  it('publishes only after the commit: a separate connection already sees the row', async () => {
    const [a, b] = await Promise.all([registerUser(t.http), registerUser(t.http)]);
    const id = await openDirect(t.http, a, b);
    // One connected client per check, so that each query goes out at once (queueing
    // overlapping queries on one client is deprecated by pg).
    const observers = Array.from({ length: 10 }, () => new Client({ connectionString: process.env.DATABASE_URL }));
    await Promise.all(observers.map((c) => c.connect()));
    const checks: Promise<number>[] = [];
    // Issued synchronously from the handler, before the service goes on.
    const stop = t.app.get(EventBus).subscribe((event) => {
      if (event.name === 'message.created') {
        checks.push(
          observers[checks.length]
            .query('SELECT count(*)::int AS n FROM messages WHERE id = $1', [event.payload.message.id])
            .then((r) => r.rows[0].n),
        );
      }
    });
    try {
      await Promise.all(Array.from({ length: 10 }, (_, i) => send(a, id, { content: `c${i}` })));
      expect(await Promise.all(checks)).toEqual(Array(10).fill(1));
    } finally {
      stop();
      await Promise.all(observers.map((c) => c.end()));
    }
  });
});
