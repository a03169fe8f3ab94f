// IndexedDbStorage.list reads IDBKeyRange from the global scope, as browsers have it. Jest gives
// every spec file its own globals, so this patches this file only.
import 'fake-indexeddb/auto';
import { IDBFactory } from 'fake-indexeddb';
import fc from 'fast-check';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FileStorage } from '../src/node.js';
import { IndexedDbStorage, MemoryStorage, type ParleyStorage, type StorageOp } from '../src/storage.js';

let root: string;
let files = 0;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'parley-storage-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** A path in a directory of its own that does not exist yet. */
const freshPath = () => join(root, `case-${++files}`, 'parley.jsonl');

interface Subject {
  storage: ParleyStorage;
  /** Opens the same data again, as a reload or a process restart does (durable kinds only). */
  reopen?: () => Promise<ParleyStorage>;
}

interface Kind {
  name: string;
  durable: boolean;
  open(): Promise<Subject>;
}

const memory: Kind = { name: 'MemoryStorage', durable: false, open: async () => ({ storage: new MemoryStorage() }) };

const indexedDb: Kind = {
  name: 'IndexedDbStorage',
  durable: true,
  async open() {
    const factory = new IDBFactory();
    let current = await IndexedDbStorage.open('parley', factory);
    return {
      storage: current,
      async reopen() {
        current.close();
        current = await IndexedDbStorage.open('parley', factory);
        return current;
      },
    };
  },
};

const file: Kind = {
  name: 'FileStorage',
  durable: true,
  async open() {
    const path = freshPath();
    // A restart: the old instance is abandoned, not closed (its writes have all resolved).
    return { storage: await FileStorage.open(path), reopen: () => FileStorage.open(path) };
  },
};

const kinds = [memory, indexedDb, file];

/** Neither structured-cloneable (a function) nor JSON (a bigint): every storage refuses it. */
const notData = () => ({ count: 10n, call: () => 0 });

describe.each(kinds)('$name: the ParleyStorage contract', ({ durable, open }) => {
  let storage: ParleyStorage;
  beforeEach(async () => {
    ({ storage } = await open());
  });
  afterEach(() => storage.close?.());

  it(`is ${durable ? '' : 'not '}durable`, () => {
    expect(storage.durable).toBe(durable);
  });

  it('gets undefined for a missing key, and every JSON value as written', async () => {
    const values: Record<string, unknown> = {
      object: { nested: { list: [1, 'two', null, true, { deep: 'é 😀' }] }, empty: {} },
      zero: 0,
      negative: -12.5,
      emptyString: '',
      no: false,
      nothing: null,
      emptyList: [],
    };
    await storage.write(Object.entries(values).map(([key, value]) => ({ key, value })));

    expect(await storage.get('missing')).toBeUndefined();
    for (const [key, value] of Object.entries(values)) expect(await storage.get(key)).toEqual(value);
  });

  it('lists exactly the keys with the prefix, in UTF-16 code unit order', async () => {
    // Written out of order; some only look like the prefix.
    const keys = [
      'outbox:2',
      'session',
      'outbox:\uffffz',
      'outbox:10',
      'out',
      'outbox;',
      'outbox:1',
      'outbox:\uffff',
      'outbox:😀',
      'outbox:ｚ',
      'outbox',
      'outbox:é',
      'Outbox:1',
    ];
    await storage.write(keys.map((key) => ({ key, value: { key } })));
    const listed = async (prefix: string) => (await storage.list<{ key: string }>(prefix)).map(({ key }) => key);

    // 😀 is the surrogate pair D83D DE00, so it sorts before U+FF5A (ｚ) and U+FFFF.
    expect(await listed('outbox:')).toEqual([
      'outbox:1',
      'outbox:10',
      'outbox:2',
      'outbox:é',
      'outbox:😀',
      'outbox:ｚ',
      'outbox:\uffff',
      'outbox:\uffffz',
    ]);
    expect(await listed('outbox:\uffff')).toEqual(['outbox:\uffff', 'outbox:\uffffz']);
    expect(await listed('')).toEqual([
      'Outbox:1',
      'out',
      'outbox',
      'outbox:1',
      'outbox:10',
      'outbox:2',
      'outbox:é',
      'outbox:😀',
      'outbox:ｚ',
      'outbox:\uffff',
      'outbox:\uffffz',
      'outbox;',
      'session',
    ]);
    expect(await listed('zzz')).toEqual([]);
    // Each key with its own value.
    for (const { key, value } of await storage.list<{ key: string }>('')) expect(value).toEqual({ key });
  });

  it('applies a batch of sets and deletes together, a later op of the batch winning', async () => {
    await storage.write([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
      { key: 'c', value: 3 },
    ]);
    await storage.write([
      { key: 'a', delete: true },
      { key: 'b', value: 20 },
      { key: 'd', value: 4 },
      { key: 'never-there', delete: true },
      { key: 'c', value: 30 },
      { key: 'c', delete: true },
      { key: 'e', delete: true },
      { key: 'e', value: 5 },
    ]);

    expect(await storage.list('')).toEqual([
      { key: 'b', value: 20 },
      { key: 'd', value: 4 },
      { key: 'e', value: 5 },
    ]);
    expect(await storage.get('a')).toBeUndefined();
    expect(await storage.get('c')).toBeUndefined();
  });

  it('writes nothing for an empty batch', async () => {
    await storage.write([{ key: 'a', value: 1 }]);
    await storage.write([]);
    expect(await storage.list('')).toEqual([{ key: 'a', value: 1 }]);
  });

  it('keeps none of a batch that fails part-way, and works on afterwards', async () => {
    await storage.write([{ key: 'a', value: 'old' }]);

    // Called in an async function: a storage may throw at once or reject, both are a failure.
    await expect(
      (async () =>
        storage.write([
          { key: 'a', value: 'new' },
          { key: 'b', value: 1 },
          { key: 'c', value: notData() },
        ]))(),
    ).rejects.toThrow();

    expect(await storage.list('')).toEqual([{ key: 'a', value: 'old' }]);
    await storage.write([{ key: 'b', value: 2 }]);
    expect(await storage.list('')).toEqual([
      { key: 'a', value: 'old' },
      { key: 'b', value: 2 },
    ]);
  });

  it('copies values in and out: changing a written or a returned object changes nothing stored', async () => {
    const written = { list: [1], nested: { n: 1 } };
    const ops: StorageOp[] = [{ key: 'k', value: written }];
    const done = storage.write(ops);
    // The caller reuses its objects at once, before the write has even resolved.
    written.list.push(2);
    written.nested.n = 2;
    ops.push({ key: 'k', delete: true });
    await done;

    const original = { list: [1], nested: { n: 1 } };
    const got = (await storage.get<typeof written>('k'))!;
    expect(got).toEqual(original);
    got.list.push(3);
    got.nested.n = 3;
    const [listed] = await storage.list<typeof written>('k');
    expect(listed.value).toEqual(original);
    listed.value.list.length = 0;

    expect(await storage.get('k')).toEqual(original);
    expect(await storage.list('')).toEqual([{ key: 'k', value: original }]);
  });

  it('applies racing writes in the order they were called', async () => {
    await Promise.all([
      ...Array.from({ length: 30 }, (_, i) =>
        storage.write([
          { key: 'counter', value: i },
          { key: `step:${String(i).padStart(2, '0')}`, value: i },
        ]),
      ),
      storage.write([{ key: 'step:00', delete: true }]),
      storage.write([{ key: 'last', value: 'set' }]),
      storage.write([{ key: 'last', delete: true }]),
    ]);

    expect(await storage.get('counter')).toBe(29);
    expect(await storage.get('last')).toBeUndefined();
    const steps = await storage.list<number>('step:');
    expect(steps.map(({ value }) => value)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
  });
});

describe.each([indexedDb, file])('$name: durable', ({ open }) => {
  it('holds the same content after a reopen', async () => {
    const { storage, reopen } = await open();
    await storage.write([
      { key: 'session', value: { refreshToken: 'refresh-1' } },
      { key: 'outbox:1', value: { content: 'hi' } },
      { key: 'outbox:2', value: { content: 'there' } },
    ]);
    await storage.write([
      { key: 'outbox:1', delete: true },
      { key: 'session', value: { refreshToken: 'refresh-2' } },
    ]);
    const before = await storage.list('');

    const again = await reopen!();
    expect(await again.list('')).toEqual(before);
    expect(before).toEqual([
      { key: 'outbox:2', value: { content: 'there' } },
      { key: 'session', value: { refreshToken: 'refresh-2' } },
    ]);
    await again.close?.();
  });
});

describe('FileStorage', () => {
  const lines = async (path: string) => (await readFile(path, 'utf8')).split('\n').filter(Boolean);

  it('creates its directory, and starts empty', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    expect(await storage.list('')).toEqual([]);
    await storage.write([{ key: 'a', value: 1 }]);
    expect(await readdir(dirname(path))).toEqual(['parley.jsonl']);
  });

  it('survives a process restart and goes on writing after it', async () => {
    const path = freshPath();
    const first = await FileStorage.open(path);
    await first.write([{ key: 'session', value: { refreshToken: 'refresh-1' } }]);
    await first.write([{ key: 'cursor', value: 'token-1' }]);
    await first.write([{ key: 'cursor', delete: true }]);

    const second = await FileStorage.open(path); // `first` is never closed: the process died
    expect(await second.list('')).toEqual([{ key: 'session', value: { refreshToken: 'refresh-1' } }]);
    await second.write([{ key: 'cursor', value: 'token-2' }]);

    const third = await FileStorage.open(path);
    expect(await third.list('')).toEqual([
      { key: 'cursor', value: 'token-2' },
      { key: 'session', value: { refreshToken: 'refresh-1' } },
    ]);
  });

  it('ignores a torn last line (a crash mid-write): none of its batch, all before it', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    await storage.write([{ key: 'a', value: 1 }]);
    await storage.write([{ key: 'b', value: { list: [1, 2] } }]);
    // Half of the line of a batch that would have deleted `a` and set `c`.
    const line = JSON.stringify([
      { key: 'a', delete: true },
      { key: 'c', value: { text: 'a longer value' } },
    ]);
    await appendFile(path, line.slice(0, Math.floor(line.length / 2)));

    const restarted = await FileStorage.open(path);
    expect(await restarted.list('')).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: { list: [1, 2] } },
    ]);

    // A write after the restart is not glued to the torn half (which would lose it at the next load).
    await restarted.write([{ key: 'd', value: 4 }]);
    expect(await (await FileStorage.open(path)).list('')).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: { list: [1, 2] } },
      { key: 'd', value: 4 },
    ]);
  });

  it('rewrites the file as one line after 1,000 writes, with the same content', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    const model = new Map<string, unknown>();
    for (let i = 0; i < 999; i++) {
      const key = `k${i % 10}`;
      const op: StorageOp = i % 7 === 6 ? { key, delete: true } : { key, value: { i, text: 'x'.repeat(i % 5) } };
      await storage.write([op]);
      if ('delete' in op) model.delete(key);
      else model.set(key, op.value);
    }
    expect(await lines(path)).toHaveLength(999); // one line per write until then
    await storage.write([{ key: 'last', value: true }]);

    const content = await storage.list('');
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    expect(await lines(path)).toHaveLength(1);
    expect((JSON.parse(text) as { key: string; value: unknown }[]).sort((x, y) => (x.key < y.key ? -1 : 1))).toEqual(
      content,
    );
    model.set('last', true);
    expect(content).toEqual([...model].sort(([x], [y]) => (x < y ? -1 : 1)).map(([key, value]) => ({ key, value })));
    expect(content.length).toBeLessThan(11); // the 1,000 writes were to 11 keys
    expect(await readdir(dirname(path))).toEqual(['parley.jsonl']); // no temporary file left

    expect(await (await FileStorage.open(path)).list('')).toEqual(content);
  });

  it('compacts a file of many lines into one when it opens', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    for (let i = 0; i < 5; i++) await storage.write([{ key: 'k', value: i }]);
    expect(await lines(path)).toHaveLength(5);

    const restarted = await FileStorage.open(path);
    expect(await lines(path)).toHaveLength(1);
    expect(await restarted.list('')).toEqual([{ key: 'k', value: 4 }]);
  });

  it('keeps the order of racing writes in the file, so a restart sees the last one', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    await Promise.all(Array.from({ length: 50 }, (_, i) => storage.write([{ key: 'k', value: i }])));
    expect(await storage.get('k')).toBe(49);
    expect((await lines(path)).map((line) => (JSON.parse(line) as [{ value: number }])[0].value)).toEqual(
      Array.from({ length: 50 }, (_, i) => i),
    );
    expect(await (await FileStorage.open(path)).get('k')).toBe(49);
  });

  it('waits in close() for the writes still under way', async () => {
    const path = freshPath();
    const storage = await FileStorage.open(path);
    void storage.write([{ key: 'a', value: 1 }]);
    void storage.write([{ key: 'b', value: 2 }]);
    await storage.close();
    expect(await (await FileStorage.open(path)).list('')).toEqual([
      { key: 'a', value: 1 },
      { key: 'b', value: 2 },
    ]);
  });

  it('opens an empty file', async () => {
    const path = freshPath();
    await FileStorage.open(path); // creates the directory
    await writeFile(path, '');
    expect(await (await FileStorage.open(path)).list('')).toEqual([]);
  });
});

describe.each(kinds)('$name: a random sequence of batches', ({ open }) => {
  const key = fc.constantFrom('a', 'ab', 'b', 'b:1', 'b:2', 'b;', 'c\uffff', 'c\uffffd', '\uffffz', '😀');
  const op: fc.Arbitrary<StorageOp> = fc.oneof(
    fc.record({ key, value: fc.jsonValue({ maxDepth: 2 }) }),
    fc.record({ key, delete: fc.constant(true as const) }),
  );
  const prefixes = ['', 'a', 'b', 'b:', 'c', 'c\uffff', '\uffff', '\ud83d'];

  const expectSame = async (storage: ParleyStorage, model: Map<string, unknown>) => {
    const entries = [...model]
      .sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))
      .map(([k, value]) => ({ key: k, value }));
    expect(await storage.list('')).toEqual(entries);
    for (const prefix of prefixes)
      expect(await storage.list(prefix)).toEqual(entries.filter(({ key: k }) => k.startsWith(prefix)));
  };

  it('holds what a Map holds after the same writes (and after a reopen)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { maxLength: 6 }), { maxLength: 12 }), async (batches) => {
        const { storage, reopen } = await open();
        const model = new Map<string, unknown>();
        for (const batch of batches) {
          await storage.write(batch);
          for (const change of batch) {
            if ('delete' in change) model.delete(change.key);
            else model.set(change.key, structuredClone(change.value));
          }
        }
        await expectSame(storage, model);
        if (reopen) {
          const again = await reopen();
          await expectSame(again, model);
          await again.close?.();
        } else {
          await storage.close?.();
        }
      }),
      { numRuns: 60 },
    );
  });
});
