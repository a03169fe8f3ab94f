import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Environment } from '../config/environment';
import { UsersService } from '../users/users.service';

export interface PresenceState {
  online: boolean;
  /** Now for an online user; null otherwise (users.last_seen_at has it). */
  lastSeenAt: Date | null;
}

export interface PresenceChange {
  userId: string;
  status: 'online' | 'offline';
  lastSeenAt: Date;
}

/**
 * Who is online: a user is online while at least one socket is open. `offline` is
 * announced PRESENCE_GRACE_MS after the last socket closed, so that a page reload
 * does not flicker. Transitions are persisted as users.last_seen_at and reported
 * to listeners (the realtime gateway pushes them).
 */
@Injectable()
export class PresenceService implements OnModuleDestroy {
  private readonly logger = new Logger(PresenceService.name);
  private readonly sockets = new Map<string, number>();
  private readonly grace = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(change: PresenceChange) => void>();
  private readonly graceMs: number;
  private stopped = false;

  constructor(
    private readonly users: UsersService,
    config: ConfigService<Environment, true>,
  ) {
    this.graceMs = config.get('PRESENCE_GRACE_MS', { infer: true });
  }

  connected(userId: string): void {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    if (count > 1) return;
    const pending = this.grace.get(userId);
    if (pending) {
      // Back within the grace: nobody was told about the absence.
      clearTimeout(pending);
      this.grace.delete(userId);
      return;
    }
    this.change(userId, 'online');
  }

  disconnected(userId: string): void {
    // Sockets closed by the shutdown itself: the process is going, not the users.
    if (this.stopped) return;
    const count = (this.sockets.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return;
    }
    this.sockets.delete(userId);
    if (this.grace.has(userId)) return;
    this.grace.set(
      userId,
      setTimeout(() => {
        this.grace.delete(userId);
        if (!this.sockets.has(userId)) this.change(userId, 'offline');
      }, this.graceMs).unref(),
    );
  }

  getMany(userIds: readonly string[]): Map<string, PresenceState> {
    const now = new Date();
    return new Map(
      userIds.map((id) => {
        const online = this.sockets.has(id) || this.grace.has(id);
        return [id, { online, lastSeenAt: online ? now : null }];
      }),
    );
  }

  /** Users online on this instance (their grace included). */
  get onlineCount(): number {
    return new Set([...this.sockets.keys(), ...this.grace.keys()]).size;
  }

  /** Pending grace timers: for leak checks. */
  get pendingTimers(): number {
    return this.grace.size;
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const timer of this.grace.values()) clearTimeout(timer);
    this.grace.clear();
  }

  /** Persists the time first, so that whoever reacts to the change reads it back from the database. */
  private change(userId: string, status: 'online' | 'offline'): void {
    const lastSeenAt = new Date();
    void this.users
      .recordLastSeen(userId, lastSeenAt)
      .catch((error) => this.logger.warn({ err: error, userId }, 'could not record last seen'))
      .then(() => {
        for (const listener of this.listeners) listener({ userId, status, lastSeenAt });
      });
  }
}
