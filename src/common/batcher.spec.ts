import { Batcher, type ItemOutcome } from './batcher';

/** A run function whose batches the test completes by hand. */
function manualRunner() {
  const calls: { items: number[]; finish: (outcomes: ItemOutcome<string>[]) => void; fail: (e: unknown) => void }[] =
    [];
  const run = (items: number[]) =>
    new Promise<ItemOutcome<string>[]>((resolve, reject) => calls.push({ items, finish: resolve, fail: reject }));
  return { calls, run };
}

/** Lets the batcher's own promise callbacks (resolve, then the next pump) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

const ok = (items: number[]) => items.map((i) => ({ ok: true as const, value: `v${i}` }));

describe('Batcher', () => {
  it('sends an item alone and at once while nothing is in flight', async () => {
    const { calls, run } = manualRunner();
    const batcher = new Batcher(run, 1, 10);
    const first = batcher.submit(1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0].finish(ok([1]));
    await expect(first).resolves.toBe('v1');
  });

  it('gathers the items that arrive while the batches are busy into the next one', async () => {
    const { calls, run } = manualRunner();
    const batcher = new Batcher(run, 2, 3);
    const results = [1, 2, 3, 4, 5, 6].map((i) => batcher.submit(i));
    // Two go at once; the other four wait for a free slot.
    expect(calls.map((c) => c.items)).toEqual([[1], [2]]);
    calls[0].finish(ok([1]));
    await settle();
    expect(calls.map((c) => c.items)).toEqual([[1], [2], [3, 4, 5]]); // at most maxBatch
    calls[1].finish(ok([2]));
    await settle();
    expect(calls[3].items).toEqual([6]);
    calls[2].finish(ok([3, 4, 5]));
    calls[3].finish(ok([6]));
    await expect(Promise.all(results)).resolves.toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6']);
  });

  it("gives each item its own outcome, and a failed run's error to all of its items", async () => {
    const { calls, run } = manualRunner();
    const batcher = new Batcher(run, 1, 10);
    const lone = batcher.submit(1);
    const [a, b] = [batcher.submit(2), batcher.submit(3)];
    const c = batcher.submit(4);
    calls[0].fail(new Error('database down'));
    await expect(lone).rejects.toThrow('database down');
    await settle();
    expect(calls[1].items).toEqual([2, 3, 4]);
    calls[1].finish([
      { ok: true, value: 'v2' },
      { ok: false, error: new Error('not a participant') },
      { ok: true, value: 'v4' },
    ]);
    await expect(a).resolves.toBe('v2');
    await expect(b).rejects.toThrow('not a participant');
    await expect(c).resolves.toBe('v4');
  });

  it('keeps going after a failed batch', async () => {
    const { calls, run } = manualRunner();
    const batcher = new Batcher(run, 1, 10);
    const first = batcher.submit(1);
    calls[0].fail(new Error('boom'));
    await expect(first).rejects.toThrow('boom');
    await settle();
    const second = batcher.submit(2);
    expect(calls).toHaveLength(2);
    calls[1].finish(ok([2]));
    await expect(second).resolves.toBe('v2');
  });
});
