/**
 * A scripted Parley server in memory, for the SDK's unit and property tests: REST through
 * a fake `fetch`, the socket through a fake `WebSocket` class, both speaking the protocol
 * of docs/protocol.md (the parts the SDK uses), with knobs for the faults the SDK must
 * survive: dropped acks, dropped frames, a killed server, a silent link, close codes.
 * Frames and answers are delivered as microtasks; with Jest's fake timers,
 * `jest.advanceTimersByTimeAsync` moves time and lets them through.
 */
import type { WebSocketLike } from '../../src/connection.js';
import type { Conversation, Message } from '../../src/protocol.js';

interface UserRecord {
  id: string;
  username: string;
  displayName: string;
  password: string;
  createdAt: string;
}

interface ParticipantRecord {
  id: string;
  role: 'owner' | 'admin' | 'member';
  lastReadSeq: number;
  delivered: number;
}

interface ConversationRecord {
  id: string;
  type: 'direct' | 'group';
  title: string | null;
  participants: ParticipantRecord[];
  lastSeq: number;
  pos: number;
  createdAt: string;
  updatedAt: string;
}

export interface LogEntry {
  conversationId: string;
  pos: number;
  event: string;
  /** The payload for one recipient, rendered as it is now. */
  render: (userId: string) => Record<string, unknown>;
  recipients: string[];
}

type SendFault = 'store-no-ack' | 'drop' | undefined;

let counter = 0;
const uuid = () => {
  const n = (++counter).toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${n}`;
};

export class FakeParley {
  readonly users = new Map<string, UserRecord>();
  readonly conversations = new Map<string, ConversationRecord>();
  readonly messages = new Map<string, Message[]>();
  readonly log: LogEntry[] = [];
  readonly sockets = new Set<FakeSocket>();
  /** Every message.send frame and REST send received (retries included). */
  readonly sendAttempts: { via: 'socket' | 'rest'; clientMessageId: string; at: number }[] = [];
  /**
   * Live pushes lost on their way (a Redis outage): like the real server's log follower, the
   * server pushes them again 1 s later (LOG_FOLLOW_MS + LIVE_REPAIR_AFTER_MS), after later ones.
   */
  skipPush?: (entry: LogEntry, userId: string) => boolean;
  /** Undefined: a skipped push is never repaired (a fault the real server does not have). */
  repairAfterMs: number | undefined = 1_000;
  readonly frames: { userId: string; event: string; data: Record<string, unknown> }[] = [];
  private readonly refreshTokens = new Map<string, { userId: string; used: boolean }>();
  private readonly accessTokens = new Map<string, { userId: string; expiresAt: number }>();

  /** Down: sockets refused (1006 at once) and REST fails with a network error. */
  down = false;
  /** Access token lifetime in seconds. */
  accessTtl = 900;
  /** What to do with the next message.send frames (one entry each; then normal). */
  readonly sendFaults: SendFault[] = [];
  /** Accept sockets but never answer anything (a dead link): frames go nowhere. */
  silent = false;
  /** Close new sockets at once with this code (after the upgrade, before `connected`). */
  refuseWith?: number;

  /** An answer that takes this long to arrive, after it was made (a slow network): ms, per request. */
  answerDelay?: (method: string, path: string) => number | undefined;

  readonly fetch = async (input: string, init: RequestInit): Promise<Response> => {
    const response = await this.handleHttp(input, init);
    const delay = this.answerDelay?.(init.method ?? 'GET', new URL(input).pathname);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));
    return response;
  };
  readonly WebSocket: new (url: string) => WebSocketLike;

  constructor(private readonly now: () => number = () => Date.now()) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const server = this;
    this.WebSocket = class extends FakeSocket {
      constructor(url: string) {
        super(server, url);
      }
    };
  }

  // ---- test helpers ---------------------------------------------------------

  /** A user created directly (no REST), with a refresh token to hand to nobody. */
  addUser(username: string): UserRecord {
    const user = { id: uuid(), username, displayName: username, password: 'password123', createdAt: this.iso() };
    this.users.set(user.id, user);
    return user;
  }

  createConversation(ids: string[], type: 'direct' | 'group' = ids.length === 2 ? 'direct' : 'group'): string {
    const record: ConversationRecord = {
      id: uuid(),
      type,
      title: type === 'group' ? 'group' : null,
      participants: ids.map((id, i) => ({
        id,
        role: type === 'group' && i === 0 ? 'owner' : 'member',
        lastReadSeq: 0,
        delivered: 0,
      })),
      lastSeq: 0,
      pos: 0,
      createdAt: this.iso(),
      updatedAt: this.iso(),
    };
    this.conversations.set(record.id, record);
    this.messages.set(record.id, []);
    this.change(
      record,
      'conversation.created',
      (u) => this.conversationFor(record, u) as unknown as Record<string, unknown>,
    );
    return record.id;
  }

  /** Another user's message, stored and pushed as the real server would. */
  post(conversationId: string, senderId: string, content: string): Message {
    return this.store(conversationId, senderId, content, null, null).message;
  }

  /** Deletes a message (as its sender would over REST), and pushes `message.deleted`. */
  deleteMessage(conversationId: string, messageId: string): void {
    const message = this.stored(conversationId).find((m) => m.id === messageId);
    if (!message || message.deleted) return;
    Object.assign(message, { content: null, deleted: true, reactions: [] });
    const { seq } = message;
    this.change(this.conversations.get(conversationId)!, 'message.deleted', () => ({ conversationId, messageId, seq }));
  }

  /** Kills the "process": every socket drops without a close frame; until `revive()`, nothing answers. */
  kill(): void {
    this.down = true;
    for (const socket of [...this.sockets]) socket.serverClose(1006, '', false);
  }

  revive(): void {
    this.down = false;
  }

  /** Closes every open socket (of one user, if given) with a close frame of this code. */
  closeAll(code: number, reason = '', userId?: string): void {
    for (const socket of [...this.sockets]) {
      if (!userId || socket.userId === userId) socket.serverClose(code, reason, true);
    }
  }

  /** Seqs of a conversation's stored messages by clientMessageId. */
  stored(conversationId: string): Message[] {
    return this.messages.get(conversationId) ?? [];
  }

  unreadFor(conversationId: string, userId: string): number {
    const record = this.conversations.get(conversationId)!;
    const marker = record.participants.find((p) => p.id === userId)!.lastReadSeq;
    return this.stored(conversationId).filter((m) => m.seq > marker && m.senderId !== userId && !m.deleted).length;
  }

  conversationFor(record: ConversationRecord, userId: string): Conversation {
    const messages = this.stored(record.id);
    return {
      id: record.id,
      type: record.type,
      title: record.title,
      participants: record.participants.map((p) => {
        const user = this.users.get(p.id)!;
        return {
          id: p.id,
          username: user.username,
          displayName: user.displayName,
          role: p.role,
          online: [...this.sockets].some((s) => s.userId === p.id),
          lastSeenAt: null,
          lastReadSeq: p.lastReadSeq,
        };
      }),
      lastMessage: messages.length ? { ...messages[messages.length - 1] } : null,
      lastSeq: record.lastSeq,
      unreadCount: this.unreadFor(record.id, userId),
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
    };
  }

  // ---- the protocol -----------------------------------------------------------

  private iso(): string {
    return new Date(this.now()).toISOString();
  }

  private change(
    record: ConversationRecord,
    event: string,
    render: LogEntry['render'],
    recipients?: string[],
  ): LogEntry {
    const entry: LogEntry = {
      conversationId: record.id,
      pos: ++record.pos,
      event,
      render,
      recipients: recipients ?? record.participants.map((p) => p.id),
    };
    this.log.push(entry);
    for (const socket of this.sockets) {
      if (!socket.ready || !entry.recipients.includes(socket.userId!)) continue;
      if (!this.skipPush?.(entry, socket.userId!)) socket.push(entry);
      else if (this.repairAfterMs !== undefined) {
        setTimeout(() => this.sockets.has(socket) && socket.push(entry), this.repairAfterMs);
      }
    }
    return entry;
  }

  private store(
    conversationId: string,
    senderId: string,
    content: string,
    clientMessageId: string | null,
    replyToId: string | null,
  ): { message: Message; original: boolean } {
    const record = this.conversations.get(conversationId)!;
    const list = this.messages.get(conversationId)!;
    if (clientMessageId) {
      const existing = list.find((m) => m.senderId === senderId && m.clientMessageId === clientMessageId);
      if (existing) return { message: { ...existing }, original: true };
    }
    const message: Message = {
      id: uuid(),
      conversationId,
      seq: ++record.lastSeq,
      senderId,
      content,
      clientMessageId,
      replyToId,
      createdAt: this.iso(),
      editedAt: null,
      deleted: false,
      reactions: [],
    };
    list.push(message);
    record.updatedAt = message.createdAt;
    this.change(record, 'message.created', () => ({ ...list.find((m) => m.id === message.id)! }));
    return { message: { ...message }, original: false };
  }

  private markRead(record: ConversationRecord, userId: string, seq: number): number {
    const participant = record.participants.find((p) => p.id === userId)!;
    const target = Math.min(seq, record.lastSeq);
    if (target > participant.lastReadSeq) {
      participant.lastReadSeq = target;
      const readAt = this.iso();
      this.change(record, 'message.read', () => ({ conversationId: record.id, userId, seq: target, readAt }));
    }
    return participant.lastReadSeq;
  }

  private tokensFor(userId: string) {
    const accessToken = `access-${uuid()}`;
    const refreshToken = `refresh-${uuid()}`;
    this.accessTokens.set(accessToken, { userId, expiresAt: this.now() + this.accessTtl * 1000 });
    this.refreshTokens.set(refreshToken, { userId, used: false });
    const user = this.users.get(userId)!;
    return {
      user: { id: user.id, username: user.username, displayName: user.displayName, createdAt: user.createdAt },
      accessToken,
      refreshToken,
      expiresIn: this.accessTtl,
    };
  }

  /** The user of a valid access token, or undefined. */
  authenticate(token: string | undefined): string | undefined {
    const record = token ? this.accessTokens.get(token) : undefined;
    return record && record.expiresAt > this.now() ? record.userId : undefined;
  }

  private async handleHttp(input: string, init: RequestInit): Promise<Response> {
    await Promise.resolve();
    if (this.down) throw new TypeError('fetch failed');
    const url = new URL(input);
    const method = init.method ?? 'GET';
    const body = init.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    const json = (status: number, payload?: unknown) =>
      new Response(payload === undefined ? null : JSON.stringify(payload), {
        status,
        headers: { 'content-type': 'application/json' },
      });
    const error = (status: number, message: string, code?: string) =>
      json(status, { statusCode: status, error: 'Error', message, ...(code ? { code } : {}) });
    const path = url.pathname;

    if (path === '/api/v1/auth/register' || path === '/api/v1/auth/login') {
      const username = String(body.username);
      let user = [...this.users.values()].find((u) => u.username === username);
      if (path.endsWith('register')) {
        if (user) return error(409, 'Username is taken');
        user = this.addUser(username);
        user.password = String(body.password);
        return json(201, this.tokensFor(user.id));
      }
      if (!user || user.password !== body.password) return error(401, 'Invalid username or password');
      return json(200, this.tokensFor(user.id));
    }
    if (path === '/api/v1/auth/refresh') {
      const record = this.refreshTokens.get(String(body.refreshToken));
      if (!record || record.used) return error(401, 'Invalid or expired refresh token');
      record.used = true;
      return json(200, this.tokensFor(record.userId));
    }
    if (path === '/api/v1/auth/logout') return json(204);

    const userId = this.authenticate(String(new Headers(init.headers).get('authorization') ?? '').slice(7));
    if (!userId) return error(401, 'Access token expired');

    if (path === '/api/v1/sync') {
      const since = url.searchParams.get('since');
      if (since === null) {
        const conversations = [...this.conversations.values()]
          .filter((c) => c.participants.some((p) => p.id === userId))
          .map((c) => this.conversationFor(c, userId));
        return json(200, { conversations, token: String(this.log.length), hasMore: false });
      }
      const from = Number(since);
      if (!Number.isInteger(from) || from < 0 || from > this.log.length) return error(410, 'Gone', 'resync_required');
      const limit = Number(url.searchParams.get('limit') ?? 500);
      const changes = this.changesFor(userId, from).slice(0, limit);
      const end = changes.length === limit ? changes[changes.length - 1].index + 1 : this.log.length;
      return json(200, {
        changes: changes.map(({ entry }) => ({
          conversationId: entry.conversationId,
          pos: entry.pos,
          event: entry.event,
          data: entry.render(userId),
        })),
        token: String(end),
        hasMore: end < this.log.length,
      });
    }

    if (path === '/api/v1/conversations' && method === 'GET') {
      const items = [...this.conversations.values()]
        .filter((c) => c.participants.some((p) => p.id === userId))
        .sort((a, b) => (a.updatedAt < b.updatedAt ? 1 : -1))
        .slice(0, Number(url.searchParams.get('limit') ?? 20))
        .map((c) => this.conversationFor(c, userId));
      return json(200, { items, nextCursor: null });
    }
    if (path === '/api/v1/conversations' && method === 'POST') {
      const others = body.type === 'direct' ? [String(body.participantId)] : (body.participantIds as string[]);
      if (others.some((id) => !this.users.has(id))) return error(404, 'User not found');
      const ids = [userId, ...others.filter((id) => id !== userId)];
      if (body.type === 'direct') {
        const existing = [...this.conversations.values()].find(
          (c) => c.type === 'direct' && ids.every((id) => c.participants.some((p) => p.id === id)),
        );
        if (existing) return json(200, this.conversationFor(existing, userId));
      }
      const id = this.createConversation(ids, body.type as 'direct' | 'group');
      return json(201, this.conversationFor(this.conversations.get(id)!, userId));
    }

    const conversationPath = /^\/api\/v1\/conversations\/([^/]+)(\/.*)?$/.exec(path);
    if (conversationPath) {
      const record = this.conversations.get(conversationPath[1]);
      if (!record || !record.participants.some((p) => p.id === userId)) return error(404, 'Conversation not found');
      const rest = conversationPath[2] ?? '';
      if (rest === '' && method === 'GET') return json(200, this.conversationFor(record, userId));
      if (rest === '/messages' && method === 'POST') {
        this.sendAttempts.push({ via: 'rest', clientMessageId: String(body.clientMessageId), at: this.now() });
        const { message, original } = this.store(
          record.id,
          userId,
          String(body.content),
          (body.clientMessageId as string) ?? null,
          (body.replyToId as string) ?? null,
        );
        return json(original ? 200 : 201, message);
      }
      if (rest === '/messages' && method === 'GET') {
        const after = Number(url.searchParams.get('after') ?? -Infinity);
        const before = Number(url.searchParams.get('before') ?? Infinity);
        const limit = Number(url.searchParams.get('limit') ?? 50);
        const matching = this.stored(record.id).filter((m) => m.seq > after && m.seq < before);
        const items = url.searchParams.has('after') ? matching.slice(0, limit) : matching.slice(-limit);
        return json(200, { items: items.map((m) => ({ ...m })), hasMore: matching.length > items.length });
      }
      if (rest === '/read' && method === 'POST') {
        return json(200, { lastReadSeq: this.markRead(record, userId, Number(body.seq)) });
      }
    }
    return error(404, `Cannot ${method} ${path}`);
  }

  private changesFor(userId: string, from: number): { entry: LogEntry; index: number }[] {
    const result: { entry: LogEntry; index: number }[] = [];
    for (let index = from; index < this.log.length; index++) {
      const entry = this.log[index];
      if (entry.recipients.includes(userId)) result.push({ entry, index });
    }
    // Conversation after conversation, each in pos order (as the server replays).
    return result.sort((a, b) =>
      a.entry.conversationId === b.entry.conversationId
        ? a.entry.pos - b.entry.pos
        : a.entry.conversationId < b.entry.conversationId
          ? -1
          : 1,
    );
  }

  /** A frame from a client socket. */
  handleFrame(socket: FakeSocket, raw: string): void {
    const { event, data = {} } = JSON.parse(raw) as { event: string; data?: Record<string, unknown> };
    const userId = socket.userId!;
    this.frames.push({ userId, event, data });
    const reply = (name: string, payload: unknown) => socket.deliver({ event: name, data: payload });
    switch (event) {
      case 'ping':
        return reply('pong', { serverTime: this.iso() });
      case 'auth': {
        const next = this.authenticate(String(data.token));
        if (next !== userId) return reply('error', { code: 'unauthorized', message: 'bad token', event });
        socket.expiresAt = this.accessTokens.get(String(data.token))!.expiresAt;
        return reply('auth.ok', { expiresAt: new Date(socket.expiresAt).toISOString() });
      }
      case 'typing': {
        const record = this.conversations.get(String(data.conversationId));
        if (!record) return;
        for (const other of this.sockets) {
          if (other.ready && other.userId !== userId && record.participants.some((p) => p.id === other.userId)) {
            other.deliver({ event: 'typing', data: { conversationId: record.id, userId, isTyping: data.isTyping } });
          }
        }
        return;
      }
      case 'read': {
        const record = this.conversations.get(String(data.conversationId))!;
        const lastReadSeq = this.markRead(record, userId, Number(data.seq));
        return reply('read.ok', { conversationId: record.id, lastReadSeq });
      }
      case 'delivered': {
        const record = this.conversations.get(String(data.conversationId))!;
        const participant = record.participants.find((p) => p.id === userId)!;
        const seq = Math.min(Number(data.seq), record.lastSeq);
        if (seq > participant.delivered) {
          participant.delivered = seq;
          this.change(record, 'message.delivered', () => ({ conversationId: record.id, userId, seq }));
        }
        return;
      }
      case 'message.send': {
        const clientMessageId = String(data.clientMessageId);
        this.sendAttempts.push({ via: 'socket', clientMessageId, at: this.now() });
        const fault = this.sendFaults.shift();
        if (fault === 'drop') return;
        const record = this.conversations.get(String(data.conversationId));
        if (!record || !record.participants.some((p) => p.id === userId)) {
          return reply('error', { code: 'forbidden', message: 'Conversation not found', event, clientMessageId });
        }
        const { message } = this.store(
          record.id,
          userId,
          String(data.content),
          clientMessageId,
          (data.replyToId as string) ?? null,
        );
        if (fault !== 'store-no-ack') reply('message.ack', { clientMessageId, message });
        return;
      }
      case 'sync':
        return this.replay(socket, String(data.since));
      default:
        return reply('error', { code: 'unknown_event', message: 'unknown', event });
    }
  }

  /** Accepts a socket: checks, `connected`, then the replay for `?since=`. */
  accept(socket: FakeSocket, url: URL): void {
    if (this.down) return socket.serverClose(1006, '', false);
    const userId = this.authenticate(url.searchParams.get('token') ?? undefined);
    if (!userId) return socket.serverClose(4401, 'unauthorized', true);
    if (this.refuseWith) return socket.serverClose(this.refuseWith, 'refused', true);
    socket.userId = userId;
    socket.expiresAt = this.accessTokens.get(url.searchParams.get('token')!)!.expiresAt;
    this.sockets.add(socket);
    socket.deliver({
      event: 'connected',
      data: { userId, connectionId: uuid(), serverTime: this.iso(), heartbeatMs: 30_000 },
    });
    const since = url.searchParams.get('since');
    if (since !== null) this.replay(socket, since);
    else socket.ready = true;
  }

  /** Replays the changes since a token, then `synced`; live pushes start after it (none lost: same turn). */
  private replay(socket: FakeSocket, since: string): void {
    const from = Number(since);
    if (!Number.isInteger(from) || from < 0 || from > this.log.length) {
      socket.ready = true;
      socket.deliver({ event: 'error', data: { code: 'resync_required', message: 'Gone', event: 'sync' } });
      return;
    }
    for (const { entry } of this.changesFor(socket.userId!, from)) socket.push(entry);
    socket.deliver({ event: 'synced', data: { token: String(this.log.length) } });
    socket.ready = true;
  }
}

/** The client's end of a socket to a FakeParley. */
export class FakeSocket implements WebSocketLike {
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  userId?: string;
  expiresAt = 0;
  /** Live pushes go to it (after its replay). */
  ready = false;
  private closing = false;
  readonly url: URL;

  constructor(
    private readonly server: FakeParley,
    url: string,
  ) {
    this.url = new URL(url);
    queueMicrotask(() => {
      if (this.readyState !== 0) return;
      this.readyState = 1;
      this.onopen?.({});
      this.server.accept(this, this.url);
    });
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    if (this.server.silent || !this.server.sockets.has(this)) return;
    const text = data;
    queueMicrotask(() => {
      if (this.readyState === 1 && this.server.sockets.has(this) && !this.server.silent)
        this.server.handleFrame(this, text);
    });
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.server.sockets.delete(this);
    queueMicrotask(() => {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    });
  }

  /** A frame to the client (as a microtask, in order). */
  deliver(frame: Record<string, unknown>): void {
    if (this.server.silent || this.closing) return;
    const text = JSON.stringify(frame);
    queueMicrotask(() => {
      if (this.readyState === 1) this.onmessage?.({ data: text });
    });
  }

  push(entry: LogEntry): void {
    this.deliver({
      event: entry.event,
      data: entry.render(this.userId!),
      conversationId: entry.conversationId,
      pos: entry.pos,
    });
  }

  /**
   * The server ends it: with a close frame after the frames already on their way
   * (`graceful`), or a dropped connection, which loses them.
   */
  serverClose(code: number, reason: string, graceful: boolean): void {
    if (this.readyState >= 2 || this.closing) return;
    this.server.sockets.delete(this);
    this.closing = true;
    if (!graceful) this.readyState = 3;
    queueMicrotask(() => {
      this.readyState = 3;
      this.onclose?.({ code, reason });
    });
  }
}
