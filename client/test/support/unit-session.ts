import type { AuthResponse, User } from '../../src/protocol.js';
import type { Locks } from '../../src/session.js';
import type { ParleyStorage, StorageOp } from '../../src/storage.js';
import { FakeFetch, json, problem, type Deferred, type Handler } from './unit-fetch.js';

/**
 * A storage whose content can be read synchronously (`peek`) and whose writes can be held
 * back (`hold`), to see what the session does before its write has landed.
 */
export class UnitStorage implements ParleyStorage {
  readonly durable = true;
  private readonly data = new Map<string, unknown>();
  private gate?: Promise<void>;

  peek<T>(key: string): T | undefined {
    return structuredClone(this.data.get(key)) as T | undefined;
  }

  /** Writes from now on wait until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  async get<T>(key: string): Promise<T | undefined> {
    return this.peek<T>(key);
  }

  async list<T>(prefix: string): Promise<{ key: string; value: T }[]> {
    return [...this.data.keys()]
      .filter((key) => key.startsWith(prefix))
      .sort()
      .map((key) => ({ key, value: structuredClone(this.data.get(key)) as T }));
  }

  async write(ops: readonly StorageOp[]): Promise<void> {
    const copies = structuredClone(ops);
    if (this.gate) await this.gate;
    for (const op of copies) {
      if ('delete' in op) this.data.delete(op.key);
      else this.data.set(op.key, op.value);
    }
  }
}

/** Locks shared by the "tabs" of one test (what navigator.locks is across tabs of one origin). */
export function unitLocks(): Locks & { runs: number } {
  const chains = new Map<string, Promise<unknown>>();
  const locks = {
    runs: 0,
    run<T>(name: string, fn: () => Promise<T>): Promise<T> {
      locks.runs++;
      const run = (chains.get(name) ?? Promise.resolve()).then(fn, fn);
      chains.set(
        name,
        run.catch(() => undefined),
      );
      return run;
    },
  };
  return locks;
}

export const ALICE: User = {
  id: '0b7c4a4e-2f0e-4a57-9d6a-0d3c1f3b8a11',
  username: 'alice',
  displayName: 'Alice',
  createdAt: '2026-01-31T12:00:00.000Z',
};

/**
 * The auth endpoints of docs/protocol.md §2: tokens `access-N` / `refresh-N`; a refresh
 * token is single-use, and presenting a spent one again ends the whole session (every
 * token of the chain), as the server does.
 */
export class AuthServer {
  readonly net = new FakeFetch();
  expiresIn = 900;
  /** Set when a spent refresh token came back (the session was killed for it). */
  reuseDetected = false;
  /** Answers for the next refreshes, before the normal one (a fault each: network down, 503 ...). */
  readonly refreshFaults: Handler[] = [];
  /** When set, a refresh that succeeds waits for it before answering (the token is rotated already). */
  answerGate?: Deferred<void>;
  private issued = 0;
  private readonly live = new Set<string>();
  private readonly spent = new Set<string>();

  constructor() {
    this.net
      .route('POST /api/v1/auth/register', () => json(201, this.issue()))
      .route('POST /api/v1/auth/login', ({ body }) =>
        (body as { password: string }).password === 'correct horse'
          ? json(200, this.issue())
          : problem(401, 'Invalid username or password'),
      )
      .route('POST /api/v1/auth/refresh', (request) => {
        const fault = this.refreshFaults.shift();
        return fault ? fault(request) : this.refresh((request.body as { refreshToken: string }).refreshToken);
      })
      .route('POST /api/v1/auth/logout', ({ body }) => {
        this.live.delete((body as { refreshToken: string }).refreshToken);
        return json(204);
      });
  }

  get refreshes(): number {
    return this.net.to('POST /api/v1/auth/refresh').length;
  }

  /** Whether this refresh token would be accepted now. */
  isLive(refreshToken: string): boolean {
    return this.live.has(refreshToken);
  }

  /** Ends every session, as an expiry or a deleted user would. */
  revokeAll(): void {
    this.live.clear();
  }

  private issue(): AuthResponse {
    const n = ++this.issued;
    this.live.add(`refresh-${n}`);
    return { user: ALICE, accessToken: `access-${n}`, refreshToken: `refresh-${n}`, expiresIn: this.expiresIn };
  }

  private async refresh(token: string): Promise<Response> {
    if (this.live.delete(token)) {
      this.spent.add(token);
      const answer = this.issue();
      if (this.answerGate) await this.answerGate.promise;
      return json(200, answer);
    }
    if (this.spent.has(token)) {
      this.reuseDetected = true;
      this.live.clear();
    }
    return problem(401, 'Invalid or expired refresh token');
  }
}
