import fc from 'fast-check';
import { ParleyError } from '../src/errors.js';
import { Outbox, type OutboxItem, type Route } from '../src/outbox.js';
import type { Message } from '../src/protocol.js';
import { MemoryStorage } from '../src/storage.js';
import { FakeClock } from './support/unit-clock.js';

/** Lets the outbox's storage writes (promises) settle between clock steps. */
const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const stored = (item: OutboxItem, seq: number): Message => ({
  id: `id-${item.clientMessageId}`,
  conversationId: item.conversationId,
  seq,
  senderId: 'me',
  content: item.content,
  clientMessageId: item.clientMessageId,
  replyToId: item.replyToId,
  createdAt: new Date(0).toISOString(),
  editedAt: null,
  deleted: false,
  reactions: [],
});

/** An outbox over a socket that the test answers by hand: every frame sent, with its time. */
function harness(route: Route = 'socket') {
  const clock = new FakeClock();
  const frames: { item: OutboxItem; at: number }[] = [];
  const transport = {
    route: () => route,
    sendFrame: (item: OutboxItem) => (frames.push({ item, at: clock.now() }), true),
    sendRest: () => Promise.reject(new ParleyError('no REST here', 'network')),
    probe: jest.fn(),
  };
  const outbox = new Outbox(new MemoryStorage(), 'u/o/', clock, transport);
  return { clock, frames, outbox, transport };
}

/** The numbers, written here rather than read from the code under test. */
const ACK_TIMEOUT_MS = 5_000;
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000];

describe('Outbox', () => {
  it('sends one message of a conversation at a time, the next when the first is stored', async () => {
    const { frames, outbox } = harness();
    const first = outbox.add('c1', 'one', null);
    outbox.add('c1', 'two', null);
    outbox.add('c2', 'elsewhere', null);
    await settle();
    expect(frames.map((f) => f.item.content)).toEqual(['one', 'elsewhere']);
    outbox.resolve(stored(first, 1));
    await settle();
    expect(frames.map((f) => f.item.content)).toEqual(['one', 'elsewhere', 'two']);
  });

  it('a refusal that would repeat fails the message at once, and the next one goes', async () => {
    const { frames, outbox } = harness();
    const first = outbox.add('c1', 'forbidden', null);
    outbox.add('c1', 'next', null);
    await settle();
    outbox.refused(first.clientMessageId, new ParleyError('no', 'socket', { code: 'forbidden' }));
    await settle();
    expect(outbox.list().map((i) => [i.content, i.status])).toEqual([
      ['forbidden', 'failed'],
      ['next', 'sending'],
    ]);
    expect(frames.map((f) => f.item.content)).toEqual(['forbidden', 'next']);
  });

  it('a refusal that will pass (rate_limited) is retried without counting as a try', async () => {
    const { clock, frames, outbox } = harness();
    const item = outbox.add('c1', 'later', null);
    await settle();
    // Refuse each try as it comes: the waits grow (1, 2, 4, 8, 16, 30 s), the message stays `sending`.
    const times: number[] = [];
    for (;;) {
      times.push(frames[frames.length - 1].at);
      if (times.length === 7) break;
      outbox.refused(item.clientMessageId, new ParleyError('slow down', 'socket', { code: 'rate_limited' }));
      const before = frames.length;
      while (frames.length === before) clock.advance(100);
    }
    expect(times).toEqual([0, 1_000, 3_000, 7_000, 15_000, 31_000, 61_000]);
    expect(outbox.list()).toMatchObject([{ status: 'sending', attempts: 0 }]);
  });

  it('a refusal on the socket waits its delay, whatever else makes the outbox move', async () => {
    const { clock, frames, outbox } = harness();
    const limited = outbox.add('c1', 'limited', null);
    const other = outbox.add('c2', 'other', null);
    await settle();
    outbox.refused(limited.clientMessageId, new ParleyError('slow down', 'socket', { code: 'rate_limited' }));
    outbox.resolve(stored(other, 1)); // lands, and pumps
    outbox.add('c2', 'and another', null);
    await settle();
    clock.advance(999);
    expect(frames.filter((f) => f.item === limited).map((f) => f.at)).toEqual([0]);
    clock.advance(1);
    expect(frames.filter((f) => f.item === limited).map((f) => f.at)).toEqual([0, 1_000]);
  });

  it('a message sent without an answer cannot be cancelled (the server may have it); one never sent can', async () => {
    const { clock, outbox } = harness();
    const sent = outbox.add('c1', 'maybe stored', null);
    const queued = outbox.add('c1', 'behind it', null);
    await settle();
    clock.advance(ACK_TIMEOUT_MS); // unanswered: waits 1 s before the next try
    expect(outbox.cancel(sent.clientMessageId)).toBe(false);
    expect(outbox.cancel(queued.clientMessageId)).toBe(true);
    expect(outbox.list().map((i) => i.content)).toEqual(['maybe stored']);
  });

  it('ack timeout: 5 s per try, retries after 1, 2 and 4 s, failed after the 4th unanswered (property)', async () => {
    // Each try is answered `delay` ms after it left, or never (undefined). An answer lands the
    // message whenever it comes (the server stored it), also after its try timed out.
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.option(fc.integer({ min: 0, max: 12_000 }), { nil: undefined }), { minLength: 4, maxLength: 4 }),
        async (answers) => {
          const { clock, frames, outbox, transport } = harness();
          const send = transport.sendFrame;
          transport.sendFrame = (item: OutboxItem) => {
            const delay = answers[frames.length];
            if (delay !== undefined) clock.setTimeout(() => outbox.resolve(stored(item, 1)), delay);
            return send(item);
          };
          let landedAt: number | undefined;
          outbox.on('sent', () => (landedAt ??= clock.now()));
          outbox.add('c1', 'hello', null);
          await settle();
          clock.advance(60_000);

          // The model: try i+1 leaves 5 s + 1, 2, 4 s after try i, unless an answer came first.
          const tries: number[] = [];
          let landed = Infinity;
          for (let i = 0; i < 4; i++) {
            const at = i === 0 ? 0 : tries[i - 1] + ACK_TIMEOUT_MS + RETRY_DELAYS_MS[i - 1];
            if (at >= landed) break;
            tries.push(at);
            if (answers[i] !== undefined) landed = Math.min(landed, at + answers[i]!);
          }
          expect(frames.map((f) => f.at)).toEqual(tries);
          if (landed === Infinity) {
            expect(outbox.list()).toMatchObject([{ status: 'failed', attempts: 4, error: { kind: 'timeout' } }]);
            expect(transport.probe).toHaveBeenCalledTimes(4); // each late ack checks the link
          } else {
            expect(landedAt).toBe(landed);
            expect(outbox.list()).toEqual([]);
          }
          // Every try carried the same clientMessageId.
          expect(new Set(frames.map((f) => f.item.clientMessageId)).size).toBe(1);
        },
      ),
      { numRuns: 300 },
    );
  });
});
