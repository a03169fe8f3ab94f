import { Timer, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import { CLOSE_CODES, type ClientEvents } from './protocol.js';
import type { Session } from './session.js';

/** The part of the WebSocket API the client uses: the browser's, or `ws`'s in Node. */
export interface WebSocketLike {
  readonly readyState: number;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/** A frame from the server: `conversationId` and `pos` on stored changes. */
export interface ServerFrame {
  event: string;
  data: Record<string, unknown>;
  conversationId?: string;
  pos?: number;
}

export type ConnectionState =
  /** Not started, stopped, or the session ended. */
  | { status: 'closed' }
  /** Opening a socket (getting a fresh token first when needed). */
  | { status: 'connecting'; attempt: number }
  /** `connected` arrived: frames flow both ways. */
  | { status: 'open'; connectionId: string }
  /** The socket dropped or was refused: the next try is in `delay` ms, at `retryAt` (the clock's ms). */
  | { status: 'reconnecting'; attempt: number; delay: number; retryAt: number; closeCode?: number }
  /** The platform says there is no network: nothing is tried until it says there is. */
  | { status: 'offline' };

/** Whether the device has a network, and when that changes (browsers' `online`/`offline` events). */
export interface NetworkMonitor {
  isOnline(): boolean;
  subscribe(onChange: (online: boolean) => void): () => void;
}

/** `navigator.onLine` and the window's `online`/`offline` events where they exist; else always online. */
export const platformNetwork: NetworkMonitor = {
  isOnline: () => (globalThis as { navigator?: { onLine?: boolean } }).navigator?.onLine !== false,
  subscribe(onChange) {
    const target = globalThis as unknown as Partial<Pick<Window, 'addEventListener' | 'removeEventListener'>>;
    if (typeof target.addEventListener !== 'function' || typeof target.removeEventListener !== 'function') {
      return () => undefined;
    }
    const online = () => onChange(true);
    const offline = () => onChange(false);
    target.addEventListener('online', online);
    target.addEventListener('offline', offline);
    return () => {
      target.removeEventListener!('online', online);
      target.removeEventListener!('offline', offline);
    };
  },
};

export interface ConnectionOptions {
  /** `ws(s)://host/ws` */
  url: string;
  WebSocket: WebSocketConstructor;
  session: Session;
  clock: Clock;
  network: NetworkMonitor;
  /** Before each connect: the sync token to resume from (`&since=`), after a bootstrap if there is none yet. */
  prepare: () => Promise<string | undefined>;
  /** With no frame from the server for this long, send `ping` (default 15 s). */
  pingIntervalMs?: number;
  /** With no frame at all for this long after a `ping`, the link is dead (default 5 s). */
  pongTimeoutMs?: number;
  /** A socket that has not said `connected` this long after it was opened is given up (default 15 s). */
  connectTimeoutMs?: number;
}

export interface ConnectionEvents {
  state: ConnectionState;
  frame: ServerFrame;
  /** A socket closed (or was given up as dead: code 1006). */
  closed: { code: number; reason: string };
}

/** Reconnect delays: 1, 2, 4, 8, 16, then 30 s, each ±20 % (so that clients spread out). */
export const BACKOFF_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];
const JITTER = 0.2;

export function backoffDelay(attempt: number, random: number): number {
  const base = BACKOFF_MS[Math.min(Math.max(attempt, 1), BACKOFF_MS.length) - 1];
  return Math.round(base * (1 - JITTER + 2 * JITTER * random));
}

/**
 * The socket's life: open it with a valid token (and the resume token), tell the world its
 * state, and when it drops, open it again after a backoff chosen by the close code —
 * 4401: refresh the token, then at once; 4429: the longest delay; 1001: at once (another
 * instance takes it). A `ping` after a quiet spell finds a dead link long before TCP does,
 * and the browser's offline/online events stop and restart the attempts.
 */
export class Connection extends Emitter<ConnectionEvents> {
  private socket?: WebSocketLike;
  private connected = false;
  private wanted = false;
  private attempt = 0;
  /** The close code of the last socket: the same 1001 or 4401 again before `connected` backs off. */
  private lastClose?: number;
  private current: ConnectionState = { status: 'closed' };
  private readonly reconnectTimer: Timer;
  private readonly pingTimer: Timer;
  private readonly pongTimer: Timer;
  private readonly connectTimer: Timer;
  /**
   * Moves on at every start, stop, network change and attempt: a continuation that finds it
   * changed (a refresh that took long) belongs to a past attempt and does nothing.
   */
  private generation = 0;
  /** The access token the current (or last) socket was opened with. */
  private socketToken?: string;
  /** When the last frame arrived: the ping timer reads it rather than being re-armed per frame. */
  private lastFrameAt = 0;
  private unsubscribeNetwork?: () => void;
  private readonly pingIntervalMs: number;
  private readonly pongTimeoutMs: number;
  private readonly connectTimeoutMs: number;

  constructor(private readonly options: ConnectionOptions) {
    super();
    const { clock } = options;
    this.pingIntervalMs = options.pingIntervalMs ?? 15_000;
    this.pongTimeoutMs = options.pongTimeoutMs ?? 5_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15_000;
    this.reconnectTimer = new Timer(clock, () => void this.open());
    this.pingTimer = new Timer(clock, () => this.onQuiet());
    this.pongTimer = new Timer(clock, () => this.abandon('no answer to ping'));
    // An upgrade that hangs (a proxy, a server stuck before `connected`) must not stall everything.
    this.connectTimer = new Timer(clock, () => this.abandon('no `connected` in time'));
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The access token the socket was opened with (`token_expired` names it). */
  get token(): string | undefined {
    return this.socketToken;
  }

  get isOpen(): boolean {
    return this.current.status === 'open';
  }

  /** Starts connecting, and keeps the socket up until `stop()`. */
  start(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.unsubscribeNetwork = this.options.network.subscribe((online) => this.onNetwork(online));
    if (!this.options.network.isOnline()) this.setState({ status: 'offline' });
    else void this.open();
  }

  stop(): void {
    this.generation++;
    this.wanted = false;
    this.unsubscribeNetwork?.();
    this.unsubscribeNetwork = undefined;
    this.reconnectTimer.clear();
    this.drop(1000, 'client closed');
    this.setState({ status: 'closed' });
  }

  /** Sends a frame when the socket is open; false (nothing sent) otherwise. */
  send<K extends keyof ClientEvents>(event: K, data: ClientEvents[K]): boolean {
    if (!this.isOpen || !this.socket || this.socket.readyState !== OPEN) return false;
    try {
      this.socket.send(JSON.stringify({ event, data }));
      return true;
    } catch {
      return false;
    }
  }

  /** Checks the link now: a `ping`, and the link is given up if nothing comes back in time. */
  probe(): void {
    if (!this.send('ping', {})) return;
    this.pongTimer.ensure(this.pongTimeoutMs);
  }

  private onNetwork(online: boolean): void {
    if (!this.wanted) return;
    this.generation++;
    if (!online) {
      this.reconnectTimer.clear();
      this.drop(1000, 'offline');
      this.setState({ status: 'offline' });
    } else if (this.current.status === 'offline') {
      this.attempt = 0;
      void this.open();
    }
  }

  private async open(): Promise<void> {
    if (!this.wanted || this.socket) return;
    const generation = ++this.generation;
    this.reconnectTimer.clear();
    this.setState({ status: 'connecting', attempt: this.attempt });
    let token: string;
    let since: string | undefined;
    try {
      since = await this.options.prepare();
      token = await this.options.session.accessToken();
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ParleyError && error.kind === 'session') return this.stop();
      return this.retryLater();
    }
    // stop(), offline or another open() while the token was on its way
    if (generation !== this.generation || !this.wanted || this.socket) return;
    const url = `${this.options.url}?token=${encodeURIComponent(token)}${since ? `&since=${encodeURIComponent(since)}` : ''}`;
    let socket: WebSocketLike;
    try {
      socket = new this.options.WebSocket(url);
    } catch {
      return this.retryLater();
    }
    this.socket = socket;
    this.socketToken = token;
    this.connected = false;
    this.connectTimer.start(this.connectTimeoutMs);
    socket.onmessage = (event) => this.socket === socket && this.onMessage(event.data);
    socket.onclose = (event) => this.socket === socket && this.onClose(event.code, event.reason);
    socket.onerror = () => undefined; // a close event follows
  }

  /** The ping timer fired: probe if nothing came for a whole interval, else wait out the rest of it. */
  private onQuiet(): void {
    const quiet = this.options.clock.now() - this.lastFrameAt;
    if (quiet >= this.pingIntervalMs) this.probe();
    this.pingTimer.start(Math.max(this.pingIntervalMs - quiet, 0) || this.pingIntervalMs);
  }

  private onMessage(raw: unknown): void {
    this.lastFrameAt = this.options.clock.now();
    this.pongTimer.clear();
    this.pingTimer.ensure(this.pingIntervalMs);
    let frame: ServerFrame;
    try {
      frame = JSON.parse(typeof raw === 'string' ? raw : String(raw)) as ServerFrame;
    } catch {
      return; // not the protocol: nothing to act on
    }
    if (!frame || typeof frame.event !== 'string') return;
    if (frame.event === 'connected' && !this.connected) {
      this.connected = true;
      this.connectTimer.clear();
      this.attempt = 0;
      this.setState({ status: 'open', connectionId: String(frame.data?.connectionId ?? '') });
    }
    this.emit('frame', frame);
  }

  private onClose(code: number, reason: string): void {
    const wasConnected = this.connected;
    this.release();
    this.emit('closed', { code, reason });
    if (!this.wanted) return this.setState({ status: 'closed' });
    const repeated = !wasConnected && this.lastClose === code;
    this.lastClose = code;
    if (code === CLOSE_CODES.unauthorized) {
      // The token expired or was refused: a new one, then at once (a second 4401 in a row backs off).
      if (repeated) return this.retryLater(code);
      // (Unless the token was renewed since this socket opened: on `token_expired`, say.)
      const generation = ++this.generation;
      this.options.session.refreshAfterRejection(this.socketToken ?? '').then(
        () => generation === this.generation && this.reconnectSoon(0, code),
        (error: unknown) => {
          if (generation !== this.generation) return;
          if (error instanceof ParleyError && error.kind === 'session') this.stop();
          else this.retryLater(code);
        },
      );
      this.setState({
        status: 'reconnecting',
        attempt: this.attempt,
        delay: 0,
        retryAt: this.options.clock.now(),
        closeCode: code,
      });
      return;
    }
    if (code === CLOSE_CODES.tooManyConnections) {
      this.attempt = Math.max(this.attempt, BACKOFF_MS.length - 1);
      return this.retryLater(code);
    }
    if (code === CLOSE_CODES.goingAway && !repeated) return this.reconnectSoon(0, code);
    this.retryLater(code);
  }

  private retryLater(closeCode?: number): void {
    if (!this.wanted || this.current.status === 'offline') return;
    this.attempt += 1;
    this.reconnectSoon(backoffDelay(this.attempt, this.options.clock.random()), closeCode);
  }

  private reconnectSoon(delay: number, closeCode?: number): void {
    if (!this.wanted || this.current.status === 'offline') return;
    const retryAt = this.options.clock.now() + delay;
    this.setState({
      status: 'reconnecting',
      attempt: this.attempt,
      delay,
      retryAt,
      ...(closeCode ? { closeCode } : {}),
    });
    this.reconnectTimer.start(delay);
  }

  /** Gives up on a socket that no longer answers: no close handshake is waited for. */
  private abandon(reason: string): void {
    if (!this.socket) return;
    this.drop(4000, reason);
    this.emit('closed', { code: 1006, reason });
    if (this.wanted) this.retryLater(1006);
  }

  /** Forgets the current socket (closing it) without reacting to its close. */
  private drop(code: number, reason: string): void {
    const socket = this.socket;
    this.release();
    if (!socket) return;
    socket.onmessage = socket.onclose = socket.onerror = null;
    try {
      socket.close(code, reason);
    } catch {
      // already closed or closing
    }
  }

  private release(): void {
    this.socket = undefined;
    this.connected = false;
    this.pingTimer.clear();
    this.pongTimer.clear();
    this.connectTimer.clear();
  }

  private setState(state: ConnectionState): void {
    this.current = state;
    this.emit('state', state);
  }
}
