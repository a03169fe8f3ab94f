import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { PresenceSlot } from '../presence/presence.service';

/** One open, authenticated socket. */
export class Connection {
  readonly id = randomUUID();
  /** Cleared by each heartbeat ping, set by the pong. */
  alive = true;
  /** Consecutive frames refused by the rate limit. */
  floodStrikes = 0;
  expiryTimer?: NodeJS.Timeout;
  /** Where its presence slot was taken; unset until admitted. */
  presenceSlot?: PresenceSlot;
  /** Resolves true once admitted (connection limit checked, `connected` sent); its frames wait for it. */
  ready: Promise<boolean> = Promise.resolve(false);

  constructor(
    readonly socket: WebSocket,
    readonly userId: string,
    public expiresAt: Date,
  ) {}
}
