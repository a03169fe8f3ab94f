import { SeqOrderer } from './seq-orderer';

describe('SeqOrderer', () => {
  let orderer: SeqOrderer;
  let delivered: string[];
  const push = (seq: number) => orderer.push('c', seq, () => delivered.push(`created ${seq}`));
  beforeEach(() => {
    orderer = new SeqOrderer(60_000);
    delivered = [];
  });
  afterEach(() => orderer.clear());

  it('delivers in order as events come in order', () => {
    [1, 2, 3].forEach(push);
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

  it('keeps other events of the conversation behind a held seq', () => {
    push(1);
    push(3);
    orderer.after('c', () => delivered.push('updated 3'));
    orderer.after('other', () => delivered.push('other conversation'));
    expect(delivered).toEqual(['created 1', 'other conversation']);
    push(2);
    expect(delivered).toEqual(['created 1', 'other conversation', 'created 2', 'created 3', 'updated 3']);
  });

  it('gives up waiting after waitMs and delivers what it holds, in order', async () => {
    const quick = new SeqOrderer(10);
    const seen: number[] = [];
    quick.push('c', 1, () => seen.push(1));
    quick.push('c', 4, () => seen.push(4));
    quick.push('c', 3, () => seen.push(3));
    await new Promise<void>((resolve) => quick.after('c', resolve)); // runs right after the flush
    expect(seen).toEqual([1, 3, 4]);
    quick.push('c', 2, () => seen.push(2)); // late: delivered at once
    expect(seen).toEqual([1, 3, 4, 2]);
    quick.clear();
  });

  it('forgets idle conversations', () => {
    orderer.push('c', 1, () => undefined, 0);
    orderer.sweep(10 * 60_000 + 1);
    const seen: number[] = [];
    orderer.push('c', 7, () => seen.push(7)); // a new baseline
    expect(seen).toEqual([7]);
  });
});
