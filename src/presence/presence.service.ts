import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import type { PresenceConfig } from './presence.config';
import { DatabaseAvailability } from '../database/database-availability.service';
import { RedisService } from '../redis/redis.service';
import { UsersService } from '../users/users.service';
import { RedisPresence } from './redis-presence';

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

/** Where a socket's slot was counted, so that its release goes to the same place. */
export type PresenceSlot = 'cluster' | 'local';

/**
 * Who is online: a user is online while at least one socket is open, on any
 * instance when REDIS_URL is set (counts in Redis, renewed per instance, so a
 * killed instance stops counting by itself), on this one otherwise or while
 * Redis is away. `offline` is announced PRESENCE_GRACE_MS after the last socket
 * closed, so that a page reload does not flicker; a reconnect on any instance
 * cancels it. Each transition is written to users.last_seen_at, then reported
 * to listeners (the gateway pushes it to the user's contacts).
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceService.name);
  private readonly sockets = new Map<string, number>();
  private readonly grace = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(change: PresenceChange) => void>();
  private readonly graceMs: number;
  private readonly ttlMs: number;
  private readonly cluster?: RedisPresence;
  private heartbeat?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly users: UsersService,
    private readonly availability: DatabaseAvailability,
    redis: RedisService,
    config: ConfigService<PresenceConfig, true>,
  ) {
    this.graceMs = config.get('PRESENCE_GRACE_MS', { infer: true });
    this.ttlMs = config.get('PRESENCE_TTL_MS', { infer: true });
    if (redis.enabled) this.cluster = new RedisPresence(redis.commands, randomUUID());
  }

  async onModuleInit(): Promise<void> {
    if (!this.cluster) return;
    const renew = () =>
      this.cluster!.heartbeat(this.ttlMs).catch((error) =>
        this.logger.warn({ err: error }, 'presence heartbeat failed'),
      );
    await renew();
    this.heartbeat = setInterval(renew, Math.floor(this.ttlMs / 3)).unref();
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearInterval(this.heartbeat);
    for (const timer of this.grace.values()) clearTimeout(timer);
    this.grace.clear();
    // Our sockets stop counting at once rather than after the TTL.
    void this.cluster?.retire().catch(() => undefined);
  }

  /** Takes a socket slot for the user, or undefined when the user already has `max` sockets. */
  async acquire(userId: string, max: number): Promise<PresenceSlot | undefined> {
    if (this.cluster) {
      try {
        const taken = await this.cluster.acquire(userId, max);
        if (!taken) return undefined;
        this.count(userId, +1);
        if (taken.total === 1 && !taken.wasInGrace) this.change(userId, 'online');
        return 'cluster';
      } catch (error) {
        this.logger.warn({ err: error }, 'Redis unavailable: counting this socket on this instance only');
      }
    }
    if ((this.sockets.get(userId) ?? 0) >= max) return undefined;
    if (this.count(userId, +1) === 1) {
      const pending = this.grace.get(userId);
      if (pending) {
        // Back within the grace: nobody was told about the absence.
        clearTimeout(pending);
        this.grace.delete(userId);
      } else {
        this.change(userId, 'online');
      }
    }
    return 'local';
  }

  release(userId: string, slot: PresenceSlot): void {
    // Sockets closed by the shutdown itself: the process is going, not the users.
    if (this.stopped) return;
    const left = this.count(userId, -1);
    if (slot === 'cluster' && this.cluster) {
      const token = randomUUID();
      this.cluster.release(userId, this.graceMs, token).then(
        (total) => total === 0 && this.startGrace(userId, () => this.cluster!.graceOver(userId, token)),
        (error: unknown) => this.logger.warn({ err: error, userId }, 'could not release a presence slot'),
      );
      return;
    }
    if (left === 0 && !this.grace.has(userId)) this.startGrace(userId, async () => !this.sockets.has(userId));
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, PresenceState>> {
    const now = new Date();
    let online: boolean[] | undefined;
    if (this.cluster) {
      online = await this.cluster.online(userIds).catch(() => undefined);
    }
    online ??= userIds.map((id) => this.sockets.has(id) || this.grace.has(id));
    return new Map(userIds.map((id, i) => [id, { online: online![i], lastSeenAt: online![i] ? now : null }]));
  }

  /** Users with a socket on this instance. */
  get onlineCount(): number {
    return this.sockets.size;
  }

  /** Pending grace timers: for leak checks. */
  get pendingTimers(): number {
    return this.grace.size;
  }

  onChange(listener: (change: PresenceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private count(userId: string, delta: number): number {
    const count = (this.sockets.get(userId) ?? 0) + delta;
    if (count > 0) this.sockets.set(userId, count);
    else this.sockets.delete(userId);
    return Math.max(0, count);
  }

  /** After the grace, `stillGone` decides whether the user went offline. */
  private startGrace(userId: string, stillGone: () => Promise<boolean>): void {
    clearTimeout(this.grace.get(userId));
    this.grace.set(
      userId,
      setTimeout(() => {
        this.grace.delete(userId);
        stillGone().then(
          (gone) => gone && !this.stopped && this.change(userId, 'offline'),
          (error: unknown) => this.logger.warn({ err: error, userId }, 'could not end a presence grace'),
        );
      }, this.graceMs).unref(),
    );
  }

  /** Persists the time first, so that whoever reacts to the change reads it back from the database. */
  private change(userId: string, status: 'online' | 'offline'): void {
    const lastSeenAt = new Date();
    void this.users
      .recordLastSeen(userId, lastSeenAt)
      .catch((error) =>
        this.availability.warnUnlessUnavailable(this.logger, error, { userId }, 'could not record last seen'),
      )
      .then(() => {
        for (const listener of this.listeners) listener({ userId, status, lastSeenAt });
      });
  }
}
