import { Timer, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import type { Authenticator, HttpTransport } from './http.js';
import type { AuthResponse, User } from './protocol.js';
import type { ParleyStorage } from './storage.js';

/** What a signed-in client holds, persisted under SESSION_KEY. */
export interface SessionData {
  user: User;
  accessToken: string;
  refreshToken: string;
  /** Local clock (ms): from `expiresIn` at receipt, so the server's clock does not matter. */
  accessIssuedAt: number;
  accessExpiresAt: number;
}

/** `logout`: asked for; `rejected`: the server refused the refresh token (expired, reused, user deleted). */
export type SessionEndReason = 'logout' | 'rejected';

export interface SessionEvents {
  /** Signed in, restored, or tokens renewed. */
  changed: SessionData;
  /** New tokens (this tab's refresh or another's): a live socket sends `auth` with them. */
  refreshed: SessionData;
  ended: { reason: SessionEndReason };
}

/** Mutual exclusion across tabs (Web Locks) where the platform has it, else within this process. */
export interface Locks {
  run<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

const chains = new Map<string, Promise<unknown>>();
export const defaultLocks: Locks = {
  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const web = (globalThis as { navigator?: { locks?: { request?: unknown } } }).navigator?.locks;
    if (web && typeof web.request === 'function') {
      return (web as unknown as { request(name: string, fn: () => Promise<T>): Promise<T> }).request(name, fn);
    }
    const run = (chains.get(name) ?? Promise.resolve()).then(fn, fn);
    chains.set(
      name,
      run.catch(() => undefined),
    );
    return run;
  },
};

export const SESSION_KEY = 'session';
/** Refresh this long before the access token expires (at most a fifth of its lifetime). */
const REFRESH_MARGIN_MS = 60_000;
/** A token this close to expiry is refreshed before use rather than sent. */
const EXPIRY_SLACK_MS = 1_000;
const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];
const REFRESH_TIMEOUT_MS = 60_000;

/**
 * The account's tokens: sign-up and sign-in, the access token renewed before it expires
 * (and after a 401 or a 4401), the single-use refresh token rotated safely — one refresh at
 * a time, across tabs too, and the new pair stored before it is used — and sign-out.
 * When the server refuses the refresh token the session is over: `ended`.
 */
export class Session extends Emitter<SessionEvents> implements Authenticator {
  private data?: SessionData;
  private refreshing?: Promise<void>;
  private retries = 0;
  /** Closing: no timer is armed any more (a refresh that lands after `suspend()` included). */
  private suspended = false;
  /** Tokens in use that storage refused to take: written again before the next refresh. */
  private unsaved?: SessionData;
  private readonly timer: Timer;

  constructor(
    private readonly http: HttpTransport,
    private readonly storage: ParleyStorage,
    private readonly clock: Clock,
    private readonly locks: Locks = defaultLocks,
  ) {
    super();
    this.timer = new Timer(clock, () => this.refreshInBackground());
  }

  get current(): SessionData | undefined {
    return this.data;
  }

  /** The session this storage holds, if any (a page reload, a restart). */
  async restore(): Promise<SessionData | undefined> {
    const saved = await this.storage.get<SessionData>(SESSION_KEY);
    if (saved?.user?.id && saved.refreshToken) this.adopt(saved);
    return this.data;
  }

  async register(username: string, password: string, displayName?: string): Promise<SessionData> {
    const body = displayName === undefined ? { username, password } : { username, password, displayName };
    return this.establish(await this.http.call('POST /api/v1/auth/register', { body, auth: false }));
  }

  async login(username: string, password: string): Promise<SessionData> {
    return this.establish(
      await this.http.call('POST /api/v1/auth/login', { body: { username, password }, auth: false }),
    );
  }

  /** Ends the session on the server (best effort: offline, it ends here only) and here. */
  async logout(): Promise<void> {
    const data = this.data;
    if (!data) return;
    await this.http
      .call('POST /api/v1/auth/logout', { body: { refreshToken: data.refreshToken }, auth: false, timeoutMs: 5_000 })
      .catch(() => undefined);
    await this.end('logout');
  }

  async accessToken(): Promise<string> {
    if (!this.data) throw new ParleyError('Not signed in', 'session');
    if (this.clock.now() >= this.data.accessExpiresAt - EXPIRY_SLACK_MS) await this.refresh();
    // Signed out while the refresh ran: its answer was dropped, there is no token to hand out.
    if (!this.data) throw new ParleyError('Not signed in', 'session');
    return this.data.accessToken;
  }

  async refreshAfterRejection(token: string): Promise<void> {
    if (this.data && this.data.accessToken !== token) return; // renewed since that call left
    await this.refresh();
  }

  /** New tokens now: one refresh at a time, whoever asks. Rejects when it fails (ended: kind `session`). */
  refresh(): Promise<void> {
    this.refreshing ??= this.runRefresh().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Stops the refresh timer (the client is closing); the session stays in storage for the next start. */
  suspend(): void {
    this.suspended = true;
    this.timer.clear();
  }

  /** Resolves once no refresh is under way (its answer stored): before storage closes. */
  async idle(): Promise<void> {
    await this.refreshing?.catch(() => undefined);
  }

  /** Ends the session here (tokens forgotten, `ended` emitted); no call to the server. */
  async end(reason: SessionEndReason): Promise<void> {
    if (!this.data) return;
    this.data = undefined;
    this.unsaved = undefined;
    this.timer.clear();
    try {
      await this.storage.write([{ key: SESSION_KEY, delete: true }]);
    } finally {
      this.emit('ended', { reason });
    }
  }

  private async runRefresh(): Promise<void> {
    const data = this.data;
    if (!data) throw new ParleyError('Not signed in', 'session');
    await this.locks.run(`parley-refresh:${data.user.id}`, async () => {
      if (this.unsaved === data) {
        // Our tokens never reached storage: this memory is the truth, and it goes to storage first.
        await this.storage.write([{ key: SESSION_KEY, value: data }]).then(() => (this.unsaved = undefined));
      } else {
        // Another tab (or client on this storage) may have refreshed while we waited: our refresh
        // token is spent then, and presenting it again would end the session everywhere. Or it
        // signed out: so are we.
        const saved = await this.storage.get<SessionData>(SESSION_KEY);
        if (this.data !== data) return;
        if (!saved) {
          await this.end('logout');
          throw new ParleyError('Signed out (in another tab)', 'session');
        }
        if (saved.user.id === data.user.id && saved.refreshToken !== data.refreshToken) {
          this.adopt(saved);
          this.emit('refreshed', saved);
          return;
        }
      }
      let answer: AuthResponse;
      try {
        // A refresh cut short after the server rotated the pair would leave only a spent token:
        // it is given much longer than other calls.
        answer = await this.http.call('POST /api/v1/auth/refresh', {
          body: { refreshToken: data.refreshToken },
          auth: false,
          timeoutMs: REFRESH_TIMEOUT_MS,
        });
      } catch (error) {
        if (error instanceof ParleyError && error.kind === 'http' && error.status === 401 && this.data === data) {
          await this.end('rejected');
          throw new ParleyError('The session has ended: sign in again', 'session');
        }
        throw error;
      }
      if (this.data !== data) return; // signed out meanwhile
      const next = await this.establish(answer);
      this.emit('refreshed', next);
    });
  }

  /** Stores the new pair before anything uses it: a crash after the refresh must not lose the only valid token. */
  private async establish(answer: AuthResponse): Promise<SessionData> {
    const now = this.clock.now();
    const data: SessionData = {
      user: answer.user,
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      accessIssuedAt: now,
      accessExpiresAt: now + answer.expiresIn * 1000,
    };
    try {
      await this.storage.write([{ key: SESSION_KEY, value: data }]);
    } catch {
      // The old refresh token is spent: these tokens are the only valid ones, kept in memory
      // and written again before they are next renewed.
      this.unsaved = data;
    }
    this.adopt(data);
    return data;
  }

  private adopt(data: SessionData): void {
    this.data = data;
    this.retries = 0;
    const lifetime = data.accessExpiresAt - data.accessIssuedAt;
    // ±25 % of jitter: tabs that restored the same session do not all refresh at one instant
    // (where Web Locks are missing, the later ones then find the pair already renewed).
    const jitter = 1 + (this.clock.random() - 0.5) / 2;
    const margin = Math.min(REFRESH_MARGIN_MS, Math.max(EXPIRY_SLACK_MS, lifetime / 5)) * jitter;
    if (!this.suspended) this.timer.start(Math.max(0, data.accessExpiresAt - margin - this.clock.now()));
    this.emit('changed', data);
  }

  private refreshInBackground(): void {
    this.refresh().catch((error: unknown) => {
      if (!this.data) return; // ended
      // Offline or the server away: try again; a call that needs the token refreshes by itself too.
      const delay = RETRY_DELAYS_MS[Math.min(this.retries++, RETRY_DELAYS_MS.length - 1)];
      if (error instanceof ParleyError && error.transient) this.timer.start(delay);
      else this.timer.start(RETRY_DELAYS_MS[RETRY_DELAYS_MS.length - 1]);
    });
  }
}
