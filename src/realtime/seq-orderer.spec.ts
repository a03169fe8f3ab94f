import { SeqOrderer, type Predecessor } from './seq-orderer';

const RECENT: Predecessor = { sinceMs: 3 };
const CONCURRENT: Predecessor = { sinceMs: null };
const SETTLED: Predecessor = { sinceMs: 60_000 };

describe('SeqOrderer', () => {
  let orderer: SeqOrderer;
  let delivered: string[];
  const push = (seq: number, predecessor = RECENT) =>
    orderer.push('c', seq, predecessor, () => delivered.push(`created ${seq}`));
  const seqs = () => delivered.map((d) => Number(d.split(' ')[1]));
  beforeEach(() => {
    orderer = new SeqOrderer(60_000);
    delivered = [];
  });
  afterEach(() => orderer.clear());

  it('delivers in order as events come in order', () => {
    [1, 2, 3].forEach((seq) => push(seq));
    expect(delivered).toEqual(['created 1', 'created 2', 'created 3']);
  });

  it('holds a later seq until the missing one arrives', () => {
    push(1);
    push(3);
    expect(delivered).toEqual(['created 1']);
    push(2);
    expect(delivered).toEqual(['created 1', 'created 2', 'created 3']);
    expect(orderer.pendingCount).toBe(0);
  });

  it.each([[[4, 5, 6, 1, 2, 3]], [[3, 4, 5, 1, 2, 6]], [[4, 5, 6, 2, 3, 1]], [[6, 5, 4, 3, 2, 1]]])(
    "puts a new conversation's racing first messages in order: %j",
    (arrivals) => {
      arrivals.forEach((seq) => push(seq, seq === 1 ? SETTLED : CONCURRENT));
      expect(seqs()).toEqual([1, 2, 3, 4, 5, 6]);
    },
  );

  it('does not wait for a predecessor created long before (after an idle sweep or a restart)', () => {
    push(41, SETTLED);
    push(42);
    expect(seqs()).toEqual([41, 42]);
  });

  it('waits for a predecessor created moments before, even when it is the first event it sees', () => {
    push(42, RECENT);
    expect(delivered).toEqual([]);
    push(41, SETTLED);
    expect(seqs()).toEqual([41, 42]);
  });

  it('keeps other events of the conversation behind a held seq', () => {
    push(1);
    push(3);
    orderer.after('c', () => delivered.push('updated 3'));
    orderer.after('other', () => delivered.push('other conversation'));
    expect(delivered).toEqual(['created 1', 'other conversation']);
    push(2);
    expect(delivered).toEqual(['created 1', 'other conversation', 'created 2', 'created 3', 'updated 3']);
  });

  it('gives up waiting after waitMs, delivers what it holds in order, and drops the missing one if it comes later', async () => {
    const stats = { expiredWaits: 0, droppedLate: 0 };
    const quick = new SeqOrderer(10, {
      expiredWait: () => (stats.expiredWaits += 1),
      droppedLate: () => (stats.droppedLate += 1),
    });
    const seen: number[] = [];
    quick.push('c', 1, SETTLED, () => seen.push(1));
    quick.push('c', 4, RECENT, () => seen.push(4));
    quick.push('c', 3, RECENT, () => seen.push(3));
    await new Promise<void>((resolve) => quick.after('c', resolve)); // runs right after the flush
    expect(seen).toEqual([1, 3, 4]);
    quick.push('c', 2, RECENT, () => seen.push(2)); // late: never out of order
    quick.push('c', 5, RECENT, () => seen.push(5));
    expect(seen).toEqual([1, 3, 4, 5]);
    expect(stats).toEqual({ expiredWaits: 1, droppedLate: 1 });
    quick.clear();
  });

  it('skips a gap at once when the seq after it says its predecessor is long settled', () => {
    push(1);
    push(3, SETTLED); // 2 was created a minute before 3: had it been coming, it would be here
    expect(seqs()).toEqual([1, 3]);
    expect(orderer.pendingCount).toBe(0);
  });

  it('forgets idle conversations, and then starts from the next event without waiting', () => {
    orderer.push('c', 1, SETTLED, () => undefined, 0);
    orderer.sweep(10 * 60_000 + 1);
    const seen: number[] = [];
    orderer.push('c', 7, SETTLED, () => seen.push(7));
    expect(seen).toEqual([7]);
  });
});
