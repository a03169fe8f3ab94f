import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';

/** One open, authenticated socket. */
export class Connection {
  readonly id = randomUUID();
  /** Cleared by each heartbeat ping, set by the pong. */
  alive = true;
  /** Consecutive frames refused by the rate limit. */
  floodStrikes = 0;
  expiryTimer?: NodeJS.Timeout;

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    public expiresAt: Date,
  ) {}
}
