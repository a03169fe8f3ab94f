import { Injectable } from '@nestjs/common';

export interface PresenceState {
  online: boolean;
  /** Last time the user was seen online; null when unknown. */
  lastSeenAt: Date | null;
}

const OFFLINE: PresenceState = Object.freeze({ online: false, lastSeenAt: null });

/**
 * Who is online. Until the realtime gateway tracks sockets, nobody is known to be
 * online and no last-seen time is known: the honest answer is offline / null.
 */
@Injectable()
export class PresenceService {
  getMany(userIds: readonly string[]): Map<string, PresenceState> {
    return new Map(userIds.map((id) => [id, OFFLINE]));
  }
}
