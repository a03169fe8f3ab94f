import { Timer, type Clock } from './clock.js';

/** `isTyping: true` again at most this often while the user types (the server's indicator lives 5 s). */
export const TYPING_REFRESH_MS = 3_000;
/** Without a keystroke for this long, the user stopped: `isTyping: false`. */
export const TYPING_IDLE_MS = 2_000;
/** Another user's indicator ends after this long without a refresh, even if their `false` never comes. */
export const TYPING_EXPIRY_MS = 6_000;

interface LocalTyping {
  /** When `true` was last sent; undefined: not sent (no socket). */
  sentAt?: number;
  idle: Timer;
}

/**
 * This user's typing: call `keystroke` on every key. `true` goes out on the first and
 * then at most every 3 s; `false` after 2 s without keys, and at once on `stop` (a send).
 */
export class LocalTypingIndicator {
  private readonly conversations = new Map<string, LocalTyping>();

  constructor(
    private readonly clock: Clock,
    private readonly send: (conversationId: string, isTyping: boolean) => boolean,
  ) {}

  keystroke(conversationId: string): void {
    let state = this.conversations.get(conversationId);
    if (!state) {
      state = { idle: new Timer(this.clock, () => this.stop(conversationId)) };
      this.conversations.set(conversationId, state);
    }
    const now = this.clock.now();
    if (state.sentAt === undefined || now - state.sentAt >= TYPING_REFRESH_MS) {
      if (this.send(conversationId, true)) state.sentAt = now;
    }
    state.idle.start(TYPING_IDLE_MS);
  }

  stop(conversationId: string): void {
    const state = this.conversations.get(conversationId);
    if (!state) return;
    state.idle.clear();
    this.conversations.delete(conversationId);
    if (state.sentAt !== undefined) this.send(conversationId, false);
  }

  stopAll(): void {
    for (const id of [...this.conversations.keys()]) this.stop(id);
  }
}

/** Other users' typing, per conversation, each indicator with its own expiry. */
export class RemoteTypingIndicators {
  private readonly typing = new Map<string, Map<string, number>>(); // conversation → user → expires at
  private readonly timer: Timer;

  constructor(
    private readonly clock: Clock,
    private readonly changed: (conversationId: string) => void,
  ) {
    this.timer = new Timer(clock, () => this.expire());
  }

  /** A `typing` push. */
  apply(conversationId: string, userId: string, isTyping: boolean): void {
    if (isTyping) {
      let users = this.typing.get(conversationId);
      if (!users) this.typing.set(conversationId, (users = new Map()));
      const isNew = !users.has(userId);
      users.set(userId, this.clock.now() + TYPING_EXPIRY_MS);
      this.schedule();
      if (isNew) this.changed(conversationId);
    } else {
      this.end(conversationId, userId);
    }
  }

  /** The user's message arrived: they are done typing it. */
  end(conversationId: string, userId: string): void {
    const users = this.typing.get(conversationId);
    if (!users?.delete(userId)) return;
    if (!users.size) this.typing.delete(conversationId);
    this.changed(conversationId);
  }

  users(conversationId: string): string[] {
    return [...(this.typing.get(conversationId)?.keys() ?? [])];
  }

  /** Everyone stops (the socket dropped: no `false` would come). */
  clear(): void {
    const ids = [...this.typing.keys()];
    this.typing.clear();
    this.timer.clear();
    for (const id of ids) this.changed(id);
  }

  private expire(): void {
    const now = this.clock.now();
    for (const [conversationId, users] of [...this.typing]) {
      for (const [userId, expiresAt] of [...users]) if (expiresAt <= now) this.end(conversationId, userId);
    }
    this.schedule();
  }

  private schedule(): void {
    let next = Infinity;
    for (const users of this.typing.values()) for (const expiresAt of users.values()) next = Math.min(next, expiresAt);
    if (next === Infinity) this.timer.clear();
    else this.timer.start(Math.max(0, next - this.clock.now()));
  }
}
