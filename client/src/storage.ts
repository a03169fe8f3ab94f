/** One change of a storage write: set a key, or delete it. */
export type StorageOp = { key: string; value: unknown } | { key: string; delete: true };

/**
 * Where the client keeps what must outlive the page or the process: the session, the
 * outbox, the sync cursor and (when `durable`) the local store. Values are plain JSON data.
 * Implementations: MemoryStorage (the default), IndexedDbStorage (browsers),
 * FileStorage (`@parley/client/node`).
 */
export interface ParleyStorage {
  /** False for storage that dies with the process: the client then keeps its store in memory only. */
  readonly durable: boolean;
  get<T>(key: string): Promise<T | undefined>;
  /** Every entry whose key starts with `prefix`, in key order. */
  list<T>(prefix: string): Promise<{ key: string; value: T }[]>;
  /** All of `ops` or none of them (a crash in between leaves the old values). */
  write(ops: readonly StorageOp[]): Promise<void>;
  close?(): void | Promise<void>;
}

const copy = <T>(value: T): T => (value === undefined ? value : structuredClone(value));

/** In this process only: what it holds is gone with it. Values are copied in and out. */
export class MemoryStorage implements ParleyStorage {
  readonly durable = false;
  private readonly data = new Map<string, unknown>();

  async get<T>(key: string): Promise<T | undefined> {
    return copy(this.data.get(key) as T | undefined);
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return [...this.data.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => ({ key, value: copy(this.data.get(key) as T) }));
  }

  async write(ops: readonly StorageOp[]): Promise<void> {
    // Every value copied first: one that cannot be copied fails the write before anything changed.
    const copies = ops.map((op) => ('delete' in op ? op : { key: op.key, value: copy(op.value) }));
    for (const op of copies) {
      if ('delete' in op) this.data.delete(op.key);
      else this.data.set(op.key, op.value);
    }
  }
}

/**
 * The lowest key above every key with `prefix` (keys are compared by UTF-16 code units), or
 * undefined when there is none ('', or only U+FFFF): every key from `prefix` on has it then.
 */
function prefixEnd(prefix: string): string | undefined {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const unit = prefix.charCodeAt(i);
    if (unit < 0xffff) return prefix.slice(0, i) + String.fromCharCode(unit + 1);
  }
  return undefined;
}

/**
 * IndexedDB, for browsers: one object store of key → value. A write is one readwrite
 * transaction, so it is atomic; every tab of the origin sees the same data.
 */
export class IndexedDbStorage implements ParleyStorage {
  readonly durable = true;
  private static readonly STORE = 'kv';

  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (or creates) the database `name`. */
  static open(name = 'parley', factory: IDBFactory = globalThis.indexedDB): Promise<IndexedDbStorage> {
    return new Promise((resolve, reject) => {
      const request = factory.open(name, 1);
      request.onupgradeneeded = () => request.result.createObjectStore(IndexedDbStorage.STORE);
      request.onsuccess = () => resolve(new IndexedDbStorage(request.result));
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error(`IndexedDB ${name} is blocked by another connection`));
    });
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.run('readonly', (store) => store.get(key)) as Promise<T | undefined>;
  }

  list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return new Promise((resolve, reject) => {
      // One transaction, so keys and values are of the same moment; its requests complete in order.
      const store = this.db.transaction(IndexedDbStorage.STORE, 'readonly').objectStore(IndexedDbStorage.STORE);
      const end = prefixEnd(prefix);
      const range = end === undefined ? IDBKeyRange.lowerBound(prefix) : IDBKeyRange.bound(prefix, end, false, true);
      const keys = store.getAllKeys(range);
      const values = store.getAll(range);
      values.onsuccess = () =>
        resolve((keys.result as string[]).map((key, i) => ({ key, value: values.result[i] as T })));
      keys.onerror = values.onerror = () => reject(keys.error ?? values.error);
    });
  }

  write(ops: readonly StorageOp[]): Promise<void> {
    if (!ops.length) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const tx = this.db.transaction(IndexedDbStorage.STORE, 'readwrite');
      const store = tx.objectStore(IndexedDbStorage.STORE);
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
      try {
        for (const op of ops) {
          if ('delete' in op) store.delete(op.key);
          else store.put(op.value, op.key);
        }
      } catch (error) {
        // A value that cannot be stored (DataCloneError): without the abort, the ops before it would commit.
        tx.abort();
        reject(error);
      }
    });
  }

  close(): void {
    this.db.close();
  }

  private run(mode: IDBTransactionMode, request: (store: IDBObjectStore) => IDBRequest): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(this.db.transaction(IndexedDbStorage.STORE, mode).objectStore(IndexedDbStorage.STORE));
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
}
