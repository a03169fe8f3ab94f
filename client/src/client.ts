import { systemClock, Timer, type Clock } from './clock.js';
import {
  Connection,
  platformNetwork,
  type ConnectionState,
  type NetworkMonitor,
  type ServerFrame,
  type WebSocketConstructor,
} from './connection.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import { HttpTransport, type FetchLike } from './http.js';
import { Outbox, type OutboxItem, type Route } from './outbox.js';
import { STORED_CHANGE_EVENTS, type Conversation, type Message, type ServerEvents, type User } from './protocol.js';
import { Session, type Locks, type SessionEndReason } from './session.js';
import { MemoryStorage, type ParleyStorage } from './storage.js';
import { Store, type ConversationState, type Presence } from './store.js';
import { SyncEngine, type ChangeSource } from './sync.js';
import { LocalTypingIndicator, RemoteTypingIndicators } from './typing.js';

export interface ParleyClientOptions {
  /** The server, e.g. `https://chat.example.com`: REST under `/api/v1`, the socket at `/ws`. */
  url: string;
  /** Where the session, the outbox, the cursor and (if durable) the store are kept. Default: memory. */
  storage?: ParleyStorage;
  /** Default: the global `WebSocket` (browsers, Node 22+); in Node 20 pass `ws`'s. */
  WebSocket?: WebSocketConstructor;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  clock?: Clock;
  /** Default: `navigator.onLine` and the window's online/offline events, where they exist. */
  network?: NetworkMonitor;
  /** Default: Web Locks where present (tabs of one origin refresh one at a time), else in-process. */
  locks?: Locks;
  /** Quiet time before a `ping` checks the link (default 15 s). */
  pingIntervalMs?: number;
  /** No frame this long after a `ping`: the link is dead, reconnect (default 5 s). */
  pongTimeoutMs?: number;
  /** A socket not `connected` this long after it was opened is given up (default 15 s). */
  connectTimeoutMs?: number;
  /** Tell senders their messages reached this device (`delivered`), default true. */
  deliveryReceipts?: boolean;
  /** Newest messages per conversation kept in durable storage (default 100). */
  persistedMessages?: number;
  /** The session ended without `logout()` (the refresh token was refused): sign in again. */
  onSessionEnded?: (reason: SessionEndReason) => void;
}

/** Of the user's own messages: where it is on its way to the others. */
export type MessageStatus = 'sending' | 'failed' | 'sent' | 'delivered' | 'read';

/** A message as a UI shows it: a stored one, or one of the outbox (`seq` null, `id` local). */
export interface ChatMessage extends Omit<Message, 'seq'> {
  seq: number | null;
  /** Own messages only: `sending`/`failed` in the outbox, then `sent`, `delivered` (every other member's device got it), `read` (every other member read it). */
  status: MessageStatus | null;
  /** Why a `failed` message failed. */
  error?: OutboxItem['error'];
}

/** A conversation with its unread count as this client keeps it. */
export type ConversationView = Conversation;

export type SyncStatus = 'idle' | 'syncing' | 'synced';

export interface ParleyEvents {
  /** Signed in (or restored): the user; signed out or ended: null. */
  session: { user: User } | null;
  connection: ConnectionState;
  /** `syncing` while a resume replays what was missed, `synced` when it is done. */
  sync: { status: SyncStatus };
  /** The conversation list changed (order, unread counts, members, titles). */
  conversations: void;
  /** A conversation's messages or markers changed. */
  messages: { conversationId: string };
  /** A new message from someone else. */
  message: Message;
  typing: { conversationId: string; userIds: string[] };
  presence: { userId: string } & Presence;
  /** Messages waiting to be sent (or failed). */
  outbox: { size: number };
  /** Something failed in the background (a fetch, a write); the client goes on. */
  error: Error;
}

const DELIVERED_DELAY_MS = 300;
const RESYNC_RETRY_MS = 2_000;
/** From this many failed socket attempts on, catch up over REST at each attempt. */
const REST_POLL_FROM_ATTEMPT = 2;
const MAX_CONTENT = 4_000;
/** How often an open socket moves the sync cursor on (a `sync` frame). */
const TOKEN_ADVANCE_MS = 30 * 60_000;
/** Conversations whose members' presence is read after each (re)connect: the most recent ones. */
const PRESENCE_PAGE = 100;

/** What exists only while a user is signed in. */
interface Live {
  me: string;
  prefix: string;
  store: Store;
  outbox: Outbox;
  sync: SyncEngine;
  localTyping: LocalTypingIndicator;
  remoteTyping: RemoteTypingIndicators;
  syncStatus: SyncStatus;
  /** A resume's replay is arriving (after `connected`, or a `sync` frame, until `synced`). */
  replaying: boolean;
  /** Read markers set here and not yet confirmed by the server (sent when it can be reached). */
  reads: Map<string, number>;
  /** Highest seq per conversation to acknowledge as delivered, and what was acknowledged. */
  deliveredQueued: Map<string, number>;
  deliveredSent: Map<string, number>;
  deliveredTimer: Timer;
  resyncTimer: Timer;
  advanceTimer: Timer;
  unsubscribe: (() => void)[];
}

/**
 * The Parley client: a session, a socket that stays up, an outbox that sends each message
 * exactly once and in order, and a local store kept exact by one sync cursor. A UI reads the
 * store (`conversations()`, `messages(id)`, ...) and re-renders on the events.
 */
export class ParleyClient extends Emitter<ParleyEvents> {
  readonly session: Session;
  private readonly http: HttpTransport;
  private readonly connection: Connection;
  private readonly storage: ParleyStorage;
  private readonly clock: Clock;
  private readonly network: NetworkMonitor;
  private live?: Live;

  private constructor(private readonly options: ParleyClientOptions) {
    super();
    const base = options.url.replace(/\/+$/, '');
    this.clock = options.clock ?? systemClock;
    this.storage = options.storage ?? new MemoryStorage();
    this.network = options.network ?? platformNetwork;
    const fetchImpl = options.fetch ?? ((input: string, init: RequestInit) => globalThis.fetch(input, init));
    this.http = new HttpTransport(base, fetchImpl);
    this.session = new Session(this.http, this.storage, this.clock, options.locks);
    this.http.authenticator = this.session;
    const WebSocketImpl = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
    if (!WebSocketImpl) throw new TypeError('No WebSocket: pass one (e.g. `ws`) as options.WebSocket');
    this.connection = new Connection({
      url: `${base.replace(/^http/, 'ws')}/ws`,
      WebSocket: WebSocketImpl,
      session: this.session,
      clock: this.clock,
      network: this.network,
      prepare: () => this.requireLive().sync.ensureToken(),
      pingIntervalMs: options.pingIntervalMs,
      pongTimeoutMs: options.pongTimeoutMs,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    this.connection.on('state', (state) => this.onConnectionState(state));
    this.connection.on('frame', (frame) => this.onFrame(frame));
    this.session.on('refreshed', ({ accessToken }) => this.connection.send('auth', { token: accessToken }));
    this.session.on('ended', ({ reason }) => void this.onSessionEnded(reason));
  }

  /** A client, signed in already if the storage holds a session (then connecting). */
  static async create(options: ParleyClientOptions): Promise<ParleyClient> {
    const client = new ParleyClient(options);
    if (await client.session.restore()) await client.begin();
    return client;
  }

  // ---- session ---------------------------------------------------------------

  get user(): User | undefined {
    return this.session.current?.user;
  }

  async register(username: string, password: string, displayName?: string): Promise<User> {
    await this.switching();
    await this.session.register(username, password, displayName);
    await this.begin();
    return this.user!;
  }

  async login(username: string, password: string): Promise<User> {
    await this.switching();
    await this.session.login(username, password);
    await this.begin();
    return this.user!;
  }

  /** Signs out: the session ends on the server, and this user's local data (outbox included) is deleted. */
  async logout(): Promise<void> {
    const live = this.live;
    await this.finish(false);
    if (live) {
      // Everything of this user: the outbox, the cursor, the store, pending reads.
      const keys = await this.storage.list(live.prefix);
      await this.storage.write(keys.map(({ key }) => ({ key, delete: true as const })));
    }
    await this.session.logout();
  }

  /** Stops the socket and timers; storage keeps everything (a later `create` goes on from there). */
  async close(): Promise<void> {
    this.session.suspend();
    await this.finish(true);
    await this.session.idle();
    await this.storage.close?.();
  }

  // ---- state -----------------------------------------------------------------

  get connectionState(): ConnectionState {
    return this.connection.state;
  }

  get syncStatus(): SyncStatus {
    return this.live?.syncStatus ?? 'idle';
  }

  /** The user's conversations, most recent activity first, with this client's unread counts. */
  conversations(): ConversationView[] {
    return this.live?.store.list().map(view) ?? [];
  }

  conversation(conversationId: string): ConversationView | undefined {
    const state = this.live?.store.conversations.get(conversationId);
    return state && view(state);
  }

  /** Held messages in seq order, then the outbox's for this conversation in the order written. */
  messages(conversationId: string): ChatMessage[] {
    const live = this.live;
    const state = live?.store.conversations.get(conversationId);
    if (!live || !state) return [];
    const others = state.conversation.participants.filter((p) => p.id !== live.me);
    let minRead = Infinity;
    let minDelivered = Infinity;
    for (const p of others) {
      minRead = Math.min(minRead, p.lastReadSeq);
      minDelivered = Math.min(minDelivered, Math.max(p.lastReadSeq, state.delivered.get(p.id) ?? 0));
    }
    const stored: ChatMessage[] = state.messages.map((m) => ({
      ...m,
      status: m.senderId !== live.me ? null : m.seq <= minRead ? 'read' : m.seq <= minDelivered ? 'delivered' : 'sent',
    }));
    const pending: ChatMessage[] = live.outbox.list(conversationId).map((item) => pendingMessage(item, live.me));
    return stored.concat(pending);
  }

  /** Whether the conversation has messages older than those held (`loadMessages` with `before` fetches them). */
  hasOlderMessages(conversationId: string): boolean {
    const state = this.live?.store.conversations.get(conversationId);
    if (!state) return false;
    const oldest = state.messages[0]?.seq;
    return oldest === undefined ? state.conversation.lastSeq > 0 : oldest > 1;
  }

  /** Who else is typing in the conversation. */
  typingUsers(conversationId: string): string[] {
    return this.live?.remoteTyping.users(conversationId) ?? [];
  }

  presenceOf(userId: string): Presence {
    return this.live?.store.presence.get(userId) ?? { online: false, lastSeenAt: null };
  }

  unreadTotal(): number {
    return this.live?.store.unreadTotal() ?? 0;
  }

  /** Messages not yet stored by the server (sending or failed), in the order written. */
  outbox(): OutboxItem[] {
    return this.live?.outbox.list() ?? [];
  }

  // ---- sending ---------------------------------------------------------------

  /**
   * Sends a message: returns at once with it as `sending`. It is kept in storage until the
   * server has it, sent over the socket (or REST while the socket is down), retried with the
   * same `clientMessageId` when no answer comes, and `failed` after 4 unanswered tries.
   */
  send(conversationId: string, content: string, options: { replyToId?: string } = {}): ChatMessage {
    const live = this.requireLive();
    const length = [...content.trim()].length;
    if (length < 1 || length > MAX_CONTENT) {
      throw new ParleyError(`content must be 1 to ${MAX_CONTENT} characters after trimming`, 'invalid');
    }
    // The server refuses a NUL anywhere (400): refused here, rather than queued to fail.
    if (content.includes('\u0000')) throw new ParleyError('content must not contain NUL characters', 'invalid');
    if (!live.store.conversations.has(conversationId)) throw new ParleyError('Unknown conversation', 'invalid');
    live.localTyping.stop(conversationId);
    const item = live.outbox.add(conversationId, content, options.replyToId ?? null);
    return pendingMessage(item, live.me);
  }

  /** Sends a failed message again. */
  retry(clientMessageId: string): boolean {
    return this.live?.outbox.retry(clientMessageId) ?? false;
  }

  /** Drops a message that is not on its way (failed, or queued behind another). */
  cancel(clientMessageId: string): boolean {
    return this.live?.outbox.cancel(clientMessageId) ?? false;
  }

  /** Call on every keystroke in the conversation's input. */
  typing(conversationId: string): void {
    this.live?.localTyping.keystroke(conversationId);
  }

  stopTyping(conversationId: string): void {
    this.live?.localTyping.stop(conversationId);
  }

  /**
   * Marks the conversation read up to `seq` (default: the newest message held, else its last),
   * here at once, on the server when it can be reached.
   */
  markRead(conversationId: string, seq?: number): void {
    const live = this.live;
    const state = live?.store.conversations.get(conversationId);
    if (!live || !state) return;
    // Markers are clamped to the last message by the server: so here, or the count would run ahead.
    // By default, up to the newest message held (what a UI shows), not past messages not yet here.
    const last = Math.min(state.conversation.lastSeq, state.messages.at(-1)?.seq ?? Infinity);
    const target = seq === undefined ? last : Math.min(Math.floor(seq), last);
    if (!Number.isFinite(target) || target <= state.readMarkerOf(live.me)) return;
    live.store.applyRead(conversationId, live.me, target);
    live.reads.set(conversationId, Math.max(target, live.reads.get(conversationId) ?? 0));
    this.persistReads(live);
    this.sendReads(live);
  }

  // ---- other calls (REST) ------------------------------------------------------

  async editMessage(messageId: string, content: string): Promise<Message> {
    const message = await this.http.call('PATCH /api/v1/messages/{id}', {
      params: { id: messageId },
      body: { content },
    });
    if (this.answersApply()) this.live?.store.applyUpdated(message);
    return message;
  }

  async deleteMessage(messageId: string): Promise<void> {
    await this.http.call('DELETE /api/v1/messages/{id}', { params: { id: messageId } });
    const held = this.findMessage(messageId);
    if (held) this.live?.store.applyDeleted({ conversationId: held.conversationId, messageId, seq: held.seq });
  }

  async react(messageId: string, emoji: string): Promise<void> {
    const answer = await this.http.call('PUT /api/v1/messages/{id}/reactions/{emoji}', {
      params: { id: messageId, emoji },
    });
    if (this.answersApply()) this.live?.store.applyReactions(answer);
  }

  async unreact(messageId: string, emoji: string): Promise<void> {
    const answer = await this.http.call('DELETE /api/v1/messages/{id}/reactions/{emoji}', {
      params: { id: messageId, emoji },
    });
    if (this.answersApply()) this.live?.store.applyReactions(answer);
  }

  /** Fetches history: the newest page, or the page before `before` (a seq). */
  async loadMessages(
    conversationId: string,
    options: { before?: number; limit?: number } = {},
  ): Promise<{ hasMore: boolean }> {
    const page = await this.http.call('GET /api/v1/conversations/{id}/messages', {
      params: { id: conversationId },
      query: { before: options.before, limit: options.limit ?? 50 },
    });
    const live = this.live;
    if (live) for (const message of page.items) live.store.applyMessage(message);
    live?.sync.scheduleFlush();
    return { hasMore: page.hasMore };
  }

  /** The direct conversation with `userId` (the existing one if there is one). */
  async createDirect(userId: string): Promise<ConversationView> {
    return this.adopt(
      await this.http.call('POST /api/v1/conversations', { body: { type: 'direct', participantId: userId } }),
    );
  }

  async createGroup(title: string, participantIds: string[]): Promise<ConversationView> {
    return this.adopt(
      await this.http.call('POST /api/v1/conversations', { body: { type: 'group', title, participantIds } }),
    );
  }

  async addParticipants(conversationId: string, userIds: string[]): Promise<ConversationView> {
    return this.adopt(
      await this.http.call('POST /api/v1/conversations/{id}/participants', {
        params: { id: conversationId },
        body: { userIds },
      }),
    );
  }

  /** Removes a member (the owner), or leaves (`userId` is the caller). */
  async removeParticipant(conversationId: string, userId: string): Promise<void> {
    await this.http.call('DELETE /api/v1/conversations/{id}/participants/{userId}', {
      params: { id: conversationId, userId },
    });
    if (userId === this.user?.id) this.live?.store.remove(conversationId);
  }

  leave(conversationId: string): Promise<void> {
    return this.removeParticipant(conversationId, this.requireLive().me);
  }

  /** Users whose username starts with `query`. */
  async searchUsers(query: string): Promise<User[]> {
    return (await this.http.call('GET /api/v1/users', { query: { query } })).items;
  }

  /** Catches up over REST now (what the socket does by itself when it connects). */
  syncNow(): Promise<void> {
    return this.requireLive().sync.catchUp();
  }

  // ---- internals ---------------------------------------------------------------

  /**
   * Whether a REST answer about a message updates the store: not while the socket is live, whose
   * push of the same change comes in order with the others (the answer may be older than a push
   * that overtook it).
   */
  private answersApply(): boolean {
    return !this.live || this.route(this.live) !== 'socket';
  }

  private requireLive(): Live {
    if (!this.live) throw new ParleyError('Not signed in', 'session');
    return this.live;
  }

  /** A sign-in replaces whoever was signed in on this client. */
  private async switching(): Promise<void> {
    if (this.live) await this.finish(true);
  }

  /** Starts what a signed-in user has: the store from storage, the outbox, the socket. */
  private async begin(): Promise<void> {
    const user = this.session.current!.user;
    const me = user.id;
    const prefix = `${me}/`;
    const store = new Store(me, this.storage.durable);
    const onError = (error: unknown) => this.emit('error', error instanceof Error ? error : new Error(String(error)));
    let live: Live;
    const outbox = new Outbox(this.storage, `${prefix}o/`, this.clock, {
      route: () => this.route(live),
      sendFrame: (item) =>
        this.connection.send('message.send', { conversationId: item.conversationId, ...sendBody(item) }),
      sendRest: (item, timeoutMs) =>
        this.http.call('POST /api/v1/conversations/{id}/messages', {
          params: { id: item.conversationId },
          body: sendBody(item),
          timeoutMs,
        }),
      probe: () => this.connection.probe(),
    });
    const sync = new SyncEngine(
      store,
      this.storage,
      prefix,
      this.http,
      this.clock,
      (event, data, source) => this.applyChange(live, event, data, source),
      this.options.persistedMessages ?? 100,
      onError,
    );
    live = {
      me,
      prefix,
      store,
      outbox,
      sync,
      syncStatus: 'idle',
      replaying: false,
      localTyping: new LocalTypingIndicator(this.clock, (conversationId, isTyping) =>
        this.connection.send('typing', { conversationId, isTyping }),
      ),
      remoteTyping: new RemoteTypingIndicators(this.clock, (conversationId) =>
        this.emit('typing', { conversationId, userIds: live.remoteTyping.users(conversationId) }),
      ),
      reads: new Map(),
      deliveredQueued: new Map(),
      deliveredSent: new Map(),
      deliveredTimer: new Timer(this.clock, () => this.sendDelivered(live)),
      resyncTimer: new Timer(this.clock, () => void this.resync(live)),
      // A long-lived socket moves its cursor on now and then, so that the next resume replays a
      // little (and the token never outlives SYNC_RETENTION_MS): the same `sync` frame, whose
      // replay of changes already held is applied once.
      advanceTimer: new Timer(this.clock, () => this.route(live) === 'socket' && void this.resync(live)),
      unsubscribe: [],
    };
    live.unsubscribe.push(
      store.on('conversations', () => this.emit('conversations', undefined)),
      store.on('messages', (change) => this.emit('messages', change)),
      store.on('message', (message) => this.emit('message', message)),
      store.on('presence', ({ userId }) => this.emit('presence', { userId, ...this.presenceOf(userId) })),
      store.on('stale', ({ conversationId }) => sync.refreshConversation(conversationId)),
      store.on('unknown', ({ conversationId }) => sync.refreshConversation(conversationId)),
      outbox.on('changed', ({ conversationId }) => {
        this.emit('outbox', { size: outbox.size });
        // A pending message shows in its conversation's list.
        const ids = conversationId ? [conversationId] : [...store.conversations.keys()];
        for (const id of ids) this.emit('messages', { conversationId: id });
      }),
      outbox.on('error', onError),
      outbox.on('sent', ({ message }) => {
        store.applyMessage(message);
        sync.scheduleFlush();
      }),
    );
    this.live = live;
    await sync.load();
    const reads = await this.storage.get<[string, number][]>(`${prefix}reads`);
    for (const [conversationId, seq] of reads ?? []) live.reads.set(conversationId, seq);
    this.emit('session', { user });
    this.emit('conversations', undefined);
    await outbox.load();
    this.connection.start();
  }

  /** Stops the signed-in part (socket, timers), flushing state when asked. */
  private async finish(flush: boolean): Promise<void> {
    const live = this.live;
    this.connection.stop();
    if (!live) return;
    this.live = undefined;
    for (const unsubscribe of live.unsubscribe) unsubscribe();
    live.outbox.stop();
    live.localTyping.stopAll();
    live.remoteTyping.clear();
    live.deliveredTimer.clear();
    live.resyncTimer.clear();
    live.advanceTimer.clear();
    await live.sync.close(flush);
  }

  private async onSessionEnded(reason: SessionEndReason): Promise<void> {
    // Refused: local data stays, so that signing in again as this user goes on from it (the outbox
    // included). Signed out (here, or in another tab on this storage): nothing is written back.
    await this.finish(reason !== 'logout');
    this.emit('session', null);
    if (reason !== 'logout') this.options.onSessionEnded?.(reason);
  }

  private route(live: Live): Route {
    if (this.live !== live) return 'wait';
    const { status } = this.connection.state;
    if (status === 'open') return live.syncStatus === 'synced' ? 'socket' : 'wait';
    if (status === 'reconnecting') return 'rest';
    return 'wait';
  }

  private onConnectionState(state: ConnectionState): void {
    this.emit('connection', state);
    const live = this.live;
    if (!live) return;
    // Renewed while the socket was opening: the socket still lives by the old token.
    const token = this.session.current?.accessToken;
    if (state.status === 'open' && token && token !== this.connection.token) this.connection.send('auth', { token });
    if (state.status !== 'open') {
      live.replaying = false;
      if (live.syncStatus !== 'idle') this.setSyncStatus(live, 'idle');
      live.outbox.disconnected();
      // A socket that dropped sends no `typing false`: no indicator outlives it.
      live.remoteTyping.clear();
      live.resyncTimer.clear();
      live.advanceTimer.clear();
    }
    if (state.status === 'reconnecting' && state.attempt >= REST_POLL_FROM_ATTEMPT) {
      // The socket keeps failing: the REST API works on its own, catch up and send over it.
      live.sync.catchUp().then(
        () => this.sendReads(live),
        (error: unknown) => this.live === live && this.emit('error', error as Error),
      );
    }
    live.outbox.pump();
  }

  private onFrame(frame: ServerFrame): void {
    const live = this.live;
    if (!live) return;
    const data = frame.data ?? {};
    switch (frame.event) {
      case 'connected':
        // Every socket is opened with `since`: a replay runs until `synced`.
        live.replaying = true;
        this.setSyncStatus(live, 'syncing');
        return;
      case 'synced':
        live.replaying = false;
        live.sync.synced(String(data.token));
        this.setSyncStatus(live, 'synced');
        live.outbox.pump();
        this.sendReads(live);
        this.sendDelivered(live);
        // Presence is not in the change log: what changed while this socket was away is read anew.
        this.refreshPresence(live);
        live.advanceTimer.start(TOKEN_ADVANCE_MS);
        return;
      case 'message.ack': {
        const { message } = data as unknown as ServerEvents['message.ack'];
        live.store.applyMessage(message);
        live.outbox.resolve(message);
        live.sync.scheduleFlush();
        return;
      }
      case 'read.ok': {
        const { conversationId, lastReadSeq } = data as unknown as ServerEvents['read.ok'];
        live.store.applyRead(conversationId, live.me, lastReadSeq);
        this.confirmRead(live, conversationId, lastReadSeq);
        return;
      }
      case 'error':
        this.onErrorFrame(live, data as unknown as ServerEvents['error']);
        return;
      case 'typing': {
        const { conversationId, userId, isTyping } = data as unknown as ServerEvents['typing'];
        live.remoteTyping.apply(conversationId, userId, isTyping);
        return;
      }
      case 'presence':
        live.store.applyPresence(data as unknown as ServerEvents['presence']);
        return;
      default:
        if (STORED_CHANGE_EVENTS.includes(frame.event as never)) {
          this.applyChange(live, frame.event, data, { replay: live.replaying });
        }
    }
  }

  /** One stored change, whichever way it came (push, replay, REST sync, a gap's fetch). */
  private applyChange(live: Live, event: string, data: Record<string, unknown>, source: ChangeSource = {}): void {
    if (this.live !== live) return;
    const { store } = live;
    switch (event) {
      case 'message.created': {
        const message = data as unknown as Message;
        store.applyMessage(message, { change: !source.fetched, announce: true });
        if (message.senderId === live.me) {
          live.outbox.resolve(message);
        } else {
          live.remoteTyping.end(message.conversationId, message.senderId);
          this.queueDelivered(live, message);
        }
        const state = store.conversations.get(message.conversationId);
        if (state?.hasGap && live.syncStatus === 'synced') live.sync.fetchGap(message.conversationId);
        break;
      }
      case 'message.updated':
        store.applyUpdated(data as unknown as Message);
        break;
      case 'message.deleted':
        store.applyDeleted(data as unknown as ServerEvents['message.deleted']);
        break;
      case 'reaction.updated':
        store.applyReactions(data as unknown as ServerEvents['reaction.updated']);
        break;
      case 'message.read': {
        const { conversationId, userId, seq } = data as unknown as ServerEvents['message.read'];
        store.applyRead(conversationId, userId, seq);
        if (userId === live.me) this.confirmRead(live, conversationId, seq);
        break;
      }
      case 'message.delivered':
        store.applyDelivered(data as unknown as ServerEvents['message.delivered']);
        break;
      case 'conversation.created':
      case 'conversation.updated':
        store.upsert(data as unknown as Conversation, { replay: source.replay });
        break;
      default:
        return;
    }
    live.sync.scheduleFlush();
  }

  private onErrorFrame(live: Live, error: ServerEvents['error']): void {
    const failure = new ParleyError(error.message, 'socket', { code: error.code });
    if (error.clientMessageId) {
      live.outbox.refused(error.clientMessageId, failure);
      return;
    }
    if (error.event === 'sync') {
      live.replaying = false;
      // The resume failed: `resync_required` (the token is too old or foreign) bootstraps anew;
      // anything else (the database away) tries the same token again shortly.
      if (error.code === 'resync_required') void this.resync(live, true);
      else live.resyncTimer.start(RESYNC_RETRY_MS);
      return;
    }
    if (error.code === 'token_expired') {
      // The close (4401) follows; the new token is on its way already (and goes as `auth` if the socket stays).
      this.session.refreshAfterRejection(this.connection.token ?? '').catch(() => undefined);
      return;
    }
    // unauthorized: the close (4401) follows and is handled there.
    if (error.code !== 'unauthorized') this.emit('error', failure);
  }

  /** Resumes on the open socket with a `sync` frame, after a bootstrap when the token was refused. */
  private async resync(live: Live, bootstrap = false): Promise<void> {
    try {
      const token = bootstrap ? await live.sync.bootstrap() : await live.sync.ensureToken();
      if (this.live !== live || !this.connection.send('sync', { since: token })) return;
      live.replaying = true;
    } catch (error) {
      if (this.live !== live) return;
      this.emit('error', error as Error);
      live.resyncTimer.start(RESYNC_RETRY_MS);
    }
  }

  /** The members' presence in the most recent conversations, as it is now (counts are left to the changes). */
  private refreshPresence(live: Live): void {
    this.http.call('GET /api/v1/conversations', { query: { limit: PRESENCE_PAGE } }).then(
      (page) => {
        if (this.live !== live) return;
        live.store.applyPresenceOf(page.items);
      },
      (error: unknown) => this.live === live && this.emit('error', error as Error),
    );
  }

  private setSyncStatus(live: Live, status: SyncStatus): void {
    live.syncStatus = status;
    this.emit('sync', { status });
  }

  private queueDelivered(live: Live, message: Message): void {
    if (this.options.deliveryReceipts === false) return;
    const { conversationId, seq } = message;
    if (seq <= Math.max(live.deliveredSent.get(conversationId) ?? 0, live.deliveredQueued.get(conversationId) ?? 0))
      return;
    live.deliveredQueued.set(conversationId, seq);
    live.deliveredTimer.ensure(DELIVERED_DELAY_MS);
  }

  private sendDelivered(live: Live): void {
    if (this.route(live) !== 'socket') return;
    for (const [conversationId, seq] of [...live.deliveredQueued]) {
      if (!this.connection.send('delivered', { conversationId, seq })) return;
      live.deliveredQueued.delete(conversationId);
      live.deliveredSent.set(conversationId, seq);
    }
  }

  /** Sends the read markers not yet confirmed: on the socket, else over REST. */
  private sendReads(live: Live): void {
    const route = this.route(live);
    for (const [conversationId, seq] of live.reads) {
      if (!live.store.conversations.has(conversationId)) {
        this.confirmRead(live, conversationId, seq);
        continue;
      }
      if (route === 'socket') {
        this.connection.send('read', { conversationId, seq });
      } else if (this.connection.state.status !== 'open' && this.network.isOnline()) {
        this.http.call('POST /api/v1/conversations/{id}/read', { params: { id: conversationId }, body: { seq } }).then(
          ({ lastReadSeq }) => {
            live.store.applyRead(conversationId, live.me, lastReadSeq);
            this.confirmRead(live, conversationId, lastReadSeq);
          },
          (error: unknown) => {
            // Gone or not allowed: nothing to send any more. Otherwise it goes with the next connect.
            if (error instanceof ParleyError && (error.status === 404 || error.status === 403)) {
              this.confirmRead(live, conversationId, seq);
            }
          },
        );
      }
    }
  }

  private confirmRead(live: Live, conversationId: string, seq: number): void {
    const pending = live.reads.get(conversationId);
    if (pending === undefined || pending > seq) return;
    live.reads.delete(conversationId);
    this.persistReads(live);
  }

  private persistReads(live: Live): void {
    this.storage.write([{ key: `${live.prefix}reads`, value: [...live.reads] }]).catch((error: unknown) => {
      this.emit('error', error as Error);
    });
  }

  private adopt(conversation: Conversation): ConversationView {
    this.live?.store.upsert(conversation);
    return this.conversation(conversation.id) ?? conversation;
  }

  private findMessage(messageId: string): Message | undefined {
    for (const state of this.live?.store.conversations.values() ?? []) {
      const message = state.byId.get(messageId);
      if (message) return message;
    }
    return undefined;
  }
}

function view(state: ConversationState): ConversationView {
  return { ...state.conversation, unreadCount: state.unreadCount };
}

/** What a send carries, over the socket or REST: every try the same (the `clientMessageId` above all). */
function sendBody(item: OutboxItem) {
  const { content, clientMessageId, replyToId } = item;
  return replyToId ? { content, clientMessageId, replyToId } : { content, clientMessageId };
}

function pendingMessage(item: OutboxItem, me: string): ChatMessage {
  return {
    id: `local:${item.clientMessageId}`,
    conversationId: item.conversationId,
    seq: null,
    senderId: me,
    content: item.content,
    clientMessageId: item.clientMessageId,
    replyToId: item.replyToId,
    createdAt: item.createdAt,
    editedAt: null,
    deleted: false,
    reactions: [],
    status: item.status,
    ...(item.error && item.status === 'failed' ? { error: item.error } : {}),
  };
}
