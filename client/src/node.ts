/// <reference types="node" />
/**
 * `@parley/client/node`: what only Node has. FileStorage keeps the session, the outbox,
 * the cursor and the store in one file, so that a bot or a service restarts where it was.
 */
import { appendFile, mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { ParleyStorage, StorageOp } from './storage.js';

/** Rewrite the file once it holds this many writes: loading stays fast. */
const COMPACT_AFTER_WRITES = 1_000;

/**
 * A file of JSON lines, one per write (append-only, so a write is one `write(2)`); a
 * torn last line (a crash mid-write) is ignored on load, so each write is all or nothing.
 * One process per file.
 */
export class FileStorage implements ParleyStorage {
  readonly durable = true;
  private writes = 0;
  private queue: Promise<void> = Promise.resolve();

  private constructor(
    private readonly path: string,
    private readonly data: Map<string, unknown>,
  ) {}

  static async open(path: string): Promise<FileStorage> {
    await mkdir(dirname(path), { recursive: true });
    const data = new Map<string, unknown>();
    const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return '';
      throw error;
    });
    for (const line of text.split('\n')) {
      if (!line) continue;
      let ops: StorageOp[];
      try {
        ops = JSON.parse(line) as StorageOp[];
      } catch {
        break; // the torn last write
      }
      apply(data, ops);
    }
    const storage = new FileStorage(path, data);
    await storage.compact();
    return storage;
  }

  async get<T>(key: string): Promise<T | undefined> {
    const value = this.data.get(key);
    return value === undefined ? undefined : (structuredClone(value) as T);
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return [...this.data.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => ({ key, value: structuredClone(this.data.get(key)) as T }));
  }

  write(ops: readonly StorageOp[]): Promise<void> {
    if (!ops.length) return Promise.resolve();
    const line = `${JSON.stringify(ops)}\n`;
    const done = this.queue.then(async () => {
      await appendFile(this.path, line);
      apply(this.data, JSON.parse(line) as StorageOp[]);
      if (++this.writes >= COMPACT_AFTER_WRITES) await this.compact();
    });
    this.queue = done.catch(() => undefined);
    return done;
  }

  async close(): Promise<void> {
    await this.queue;
  }

  /** The whole content as one write, replacing the file atomically (rename). */
  private async compact(): Promise<void> {
    const ops = [...this.data].map(([key, value]) => ({ key, value }));
    const temporary = `${this.path}.${process.pid}.tmp`;
    const file = await open(temporary, 'w');
    try {
      await file.writeFile(ops.length ? `${JSON.stringify(ops)}\n` : '');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, this.path);
    this.writes = 0;
  }
}

function apply(data: Map<string, unknown>, ops: readonly StorageOp[]): void {
  for (const op of ops) {
    if ('delete' in op) data.delete(op.key);
    else data.set(op.key, op.value);
  }
}
