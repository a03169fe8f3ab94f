import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { PresenceSlot } from '../presence/presence.service';
import type { Snapshot } from '../sync/snapshot';
import { CLOSE_CODES, ERROR_CODES, frame } from './ws-protocol';

/** What the per-socket frame limit makes of one more frame (see Connection.judgeFrame). */
export type FrameVerdict = 'ok' | 'limited' | 'drop' | 'close';

/** Refused frames in a row, in seconds' worth of RATE_WS_PER_SEC, after which the socket is closed (1008). */
const FLOOD_CLOSE_FACTOR = 10;

/**
 * One open, authenticated socket, and what happens to it on its own: its token
 * expiring, its liveness between heartbeats, its flood strikes. Who is connected,
 * and what each connection may do, is the ConnectionManager's.
 */
export class Connection {
  readonly id = randomUUID();
  /** Where its presence slot was taken; unset until admitted. */
  presenceSlot?: PresenceSlot;
  /** Resolves true once admitted (connection limit checked, `connected` sent); its frames wait for it. */
  ready: Promise<boolean> = Promise.resolve(false);
  /**
   * While a resume replays what the client missed (ResumeService): the live frames that
   * came meanwhile, with the transaction of their stored change, sent after `synced`.
   */
  held?: { text: string; xid?: string }[];
  /** A resume is replaying (one at a time). */
  resuming = false;
  /**
   * What the last resume covered, until `until`: a stored change its snapshot sees was
   * replayed (or was in the token), so its live frame, late from the bus or repaired from
   * the log, is not sent again.
   */
  covered?: { snapshot: Snapshot; until: number };
  /**
   * The stored changes (`conversation:pos`) pushed in the socket's first
   * LIVE_PUSHED_KEPT_MS, until its first `sync` frame: that replay leaves them out.
   */
  pushed?: Set<string> = new Set();
  readonly openedAt = Date.now();
  /** Cleared by each heartbeat ping, set by the pong. */
  private alive = true;
  /** Consecutive frames refused by the rate limit. */
  private floodStrikes = 0;
  private expiryTimer?: NodeJS.Timeout;

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    public expiresAt: Date,
    /** Writes a frame (the registry's send: it watches for slow consumers). */
    private readonly send: (connection: Connection, text: string) => void,
  ) {}

  /** Starts counting down to the token's expiry, and listening for pongs. */
  start(): void {
    this.socket.on('pong', () => (this.alive = true));
    this.renew(this.expiresAt);
  }

  /** A fresh token (`auth` frame): at its expiry, unless renewed again, `error token_expired` and close 4401. */
  renew(expiresAt: Date): void {
    this.expiresAt = expiresAt;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(
      () => {
        this.send(
          this,
          frame('error', {
            code: ERROR_CODES.tokenExpired,
            message: 'Access token expired: send auth with a fresh token',
          }),
        );
        this.close(CLOSE_CODES.unauthorized, 'token_expired');
      },
      Math.max(0, expiresAt.getTime() - Date.now()),
    ).unref();
  }

  get expired(): boolean {
    return this.expiresAt.getTime() <= Date.now();
  }

  /** One heartbeat: a socket that did not answer the previous ping is terminated. */
  heartbeat(): void {
    if (!this.alive) {
      this.socket.terminate();
      return;
    }
    this.alive = false;
    this.socket.ping();
  }

  /**
   * The per-socket frame limit's answer, given whether the bucket had a token:
   * refused frames get `rate_limited` (a second's worth of them), are then dropped
   * in silence, and a socket that keeps flooding far past it is closed with 1008.
   */
  judgeFrame(allowed: boolean, limitPerSecond: number): FrameVerdict {
    if (allowed) {
      this.floodStrikes = 0;
      return 'ok';
    }
    this.floodStrikes += 1;
    if (this.floodStrikes > FLOOD_CLOSE_FACTOR * limitPerSecond) return 'close';
    return this.floodStrikes > limitPerSecond ? 'drop' : 'limited';
  }

  /** An error frame, then the close: how a live socket is ended for a reason the client must see. */
  end(code: number, reason: string, error?: { code: string; message: string }): void {
    if (error) this.send(this, frame('error', error));
    this.close(code, reason);
  }

  close(code: number, reason: string): void {
    this.socket.close(code, reason);
  }

  /** Gone: no timer outlives it. */
  dispose(): void {
    clearTimeout(this.expiryTimer);
  }
}
