import { Timer, type Clock } from './clock.js';
import { ParleyError } from './errors.js';
import type { HttpTransport } from './http.js';
import type { Message, SyncBootstrap, SyncPage } from './protocol.js';
import type { ParleyStorage, StorageOp } from './storage.js';
import type { ConversationRecord, Store } from './store.js';

/** Where a change comes from, which says how current its payload is. */
export interface ChangeSource {
  /**
   * A catch-up (a resume's replay, a REST sync page): payloads are as things are now, and every
   * change since the token comes too, so counts follow from the message changes themselves.
   */
  replay?: boolean;
  /** A message of a gap's page: it may be older than what arrived since. */
  fetched?: boolean;
}

/** Apply one stored change (a push, a replayed frame, a REST sync change) to the client. */
export type ApplyChange = (event: string, data: Record<string, unknown>, source: ChangeSource) => void;

/** Persist what changed at most this often: a burst of pushes is one storage write. */
const FLUSH_DELAY_MS = 100;
const FLUSH_RETRY_MS = 2_000;
const SYNC_PAGE = 500;
const GAP_PAGE = 100;

/**
 * The sync cursor and what it guards:
 * - the token (from a bootstrap, a REST page, or a socket's `synced`), persisted with the
 *   store in one write, so that a crash never leaves a cursor ahead of the state it covers;
 * - the bootstrap (GET /sync) when there is no token, or the server said `resync_required`;
 * - catching up over REST (GET /sync?since=) while the socket cannot connect;
 * - live gaps (a seq skipped) and unread counts that cannot be told locally: fetched.
 */
export class SyncEngine {
  token?: string;
  private bootstrapping?: Promise<string>;
  private catchingUp?: Promise<void>;
  private readonly fetching = new Set<string>();
  private readonly flushTimer: Timer;
  private flushing: Promise<void> = Promise.resolve();
  /** Seqs of the messages in storage, per conversation. */
  private readonly persisted = new Map<string, Set<number>>();
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly storage: ParleyStorage,
    private readonly prefix: string,
    private readonly http: HttpTransport,
    clock: Clock,
    private readonly apply: ApplyChange,
    private readonly persistedMessages: number,
    private readonly onError: (error: unknown) => void,
  ) {
    this.flushTimer = new Timer(clock, () => void this.flush());
  }

  private get cursorKey(): string {
    return `${this.prefix}cursor`;
  }

  /** What storage kept: the store and its cursor (durable storage only). */
  async load(): Promise<void> {
    if (!this.storage.durable) return;
    const [cursor, records, messages] = await Promise.all([
      this.storage.get<{ token: string }>(this.cursorKey),
      this.storage.list<ConversationRecord>(`${this.prefix}c/`),
      this.storage.list<Message>(`${this.prefix}m/`),
    ]);
    this.store.restore(
      records.map((r) => r.value),
      messages.map((m) => m.value),
    );
    for (const { value } of messages) this.persistedSet(value.conversationId).add(value.seq);
    this.token = cursor?.token;
  }

  /** The token to resume from, bootstrapping first when there is none. */
  async ensureToken(): Promise<string> {
    return this.token ?? this.bootstrap();
  }

  /** Everything anew (GET /sync): the store is replaced, the token is the state's. */
  bootstrap(): Promise<string> {
    this.bootstrapping ??= (async () => {
      const answer = (await this.http.call('GET /api/v1/sync')) as SyncBootstrap;
      this.store.bootstrap(answer.conversations);
      this.token = answer.token;
      await this.flush();
      return answer.token;
    })().finally(() => (this.bootstrapping = undefined));
    return this.bootstrapping;
  }

  /** A socket's resume is complete (`synced`). */
  synced(token: string): void {
    this.token = token;
    this.scheduleFlush();
  }

  /** Catches up over REST, page by page (the socket is down): every change since the token. */
  catchUp(): Promise<void> {
    this.catchingUp ??= this.runCatchUp().finally(() => (this.catchingUp = undefined));
    return this.catchingUp;
  }

  private async runCatchUp(): Promise<void> {
    try {
      let token = await this.ensureToken();
      for (;;) {
        const page = (await this.http.call('GET /api/v1/sync', {
          query: { since: token, limit: SYNC_PAGE },
        })) as SyncPage;
        if (this.closed) return; // signed out meanwhile: a page not applied must not move the cursor
        for (const change of page.changes) this.apply(change.event, change.data, { replay: true });
        this.token = token = page.token;
        this.scheduleFlush();
        if (!page.hasMore) return;
      }
    } catch (error) {
      if (error instanceof ParleyError && error.status === 410) await this.bootstrap();
      else throw error;
    }
  }

  /** Fetches the messages of a live gap (a seq that never arrived while later ones did). */
  fetchGap(conversationId: string): void {
    this.once(`gap:${conversationId}`, async () => {
      for (let previous = -1; ;) {
        const gap = this.store.conversations.get(conversationId)?.gap();
        if (!gap || gap.after === previous) return; // filled, or the server has nothing more for it
        previous = gap.after;
        const page = await this.http.call('GET /api/v1/conversations/{id}/messages', {
          params: { id: conversationId },
          query: { after: gap.after, before: gap.before, limit: GAP_PAGE },
        });
        for (const message of page.items) {
          this.apply('message.created', message as unknown as Record<string, unknown>, { fetched: true });
        }
      }
    });
  }

  /** Reads one conversation again (its unread count could not be told, or it is unknown here). */
  refreshConversation(conversationId: string): void {
    this.once(`conversation:${conversationId}`, async () => {
      try {
        const conversation = await this.http.call('GET /api/v1/conversations/{id}', { params: { id: conversationId } });
        this.store.upsert(conversation, { recount: true });
      } catch (error) {
        if (error instanceof ParleyError && error.status === 404) this.store.remove(conversationId);
        else throw error;
      }
    });
  }

  scheduleFlush(): void {
    if (!this.closed) this.flushTimer.ensure(FLUSH_DELAY_MS);
  }

  /** Writes what changed, with the cursor, in one storage write (one at a time). */
  flush(): Promise<void> {
    this.flushTimer.clear();
    const run = this.flushing.then(() => this.write());
    this.flushing = run.catch((error: unknown) => {
      this.onError(error);
      if (!this.closed) this.flushTimer.start(FLUSH_RETRY_MS); // storage may come back (quota freed, disk)
    });
    return run;
  }

  /** Stops writing (sign-out or close); a last flush first when asked. */
  async close(flush: boolean): Promise<void> {
    if (flush) await this.flush().catch(() => undefined);
    this.closed = true;
    this.flushTimer.clear();
  }

  private async write(): Promise<void> {
    const dirty = this.store.takeDirty();
    if (!this.storage.durable || this.closed) return;
    const ops: StorageOp[] = [];
    // What storage will hold once the write succeeds (applied to `persisted` only then).
    const after = new Map<string, Set<number> | undefined>();
    const messageKey = (conversationId: string, seq: number) =>
      `${this.prefix}m/${conversationId}/${String(seq).padStart(10, '0')}`;
    for (const id of dirty.removed) {
      ops.push({ key: `${this.prefix}c/${id}`, delete: true });
      for (const seq of this.persisted.get(id) ?? []) ops.push({ key: messageKey(id, seq), delete: true });
      after.set(id, undefined);
    }
    for (const [id, changed] of dirty.conversations) {
      const state = this.store.conversations.get(id);
      if (!state) continue;
      ops.push({ key: `${this.prefix}c/${id}`, value: state.toRecord() });
      // The newest messages are kept; older ones are fetched again when shown.
      const kept = state.messages.slice(-this.persistedMessages);
      const keep = new Set(kept.map((m) => m.seq));
      const stored = this.persisted.get(id) ?? new Set<number>();
      for (const message of kept) {
        if (stored.has(message.seq) && !changed.has(message.id)) continue;
        ops.push({ key: messageKey(id, message.seq), value: message });
      }
      for (const seq of stored) if (!keep.has(seq)) ops.push({ key: messageKey(id, seq), delete: true });
      after.set(id, keep);
    }
    if (this.token) ops.push({ key: this.cursorKey, value: { token: this.token } });
    try {
      await this.storage.write(ops);
    } catch (error) {
      // Nothing was written: what it carried is written with the next flush, before any cursor
      // that covers it could be.
      this.store.markDirty(dirty);
      throw error;
    }
    for (const [id, seqs] of after) {
      if (seqs) this.persisted.set(id, seqs);
      else this.persisted.delete(id);
    }
  }

  private persistedSet(conversationId: string): Set<number> {
    let set = this.persisted.get(conversationId);
    if (!set) this.persisted.set(conversationId, (set = new Set()));
    return set;
  }

  /** Runs `task` unless the same one is running; its failure is reported, not thrown. */
  private once(key: string, task: () => Promise<void>): void {
    if (this.fetching.has(key) || this.closed) return;
    this.fetching.add(key);
    task()
      .catch((error: unknown) => this.onError(error))
      .finally(() => this.fetching.delete(key));
  }
}
