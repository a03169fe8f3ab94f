import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { DatabaseAvailability } from '../database/database-availability.service';
import { RedisService } from '../redis/redis.service';
import { UsersService } from '../users/users.service';
import type { PresenceConfig } from './presence.config';
import { MemoryPresenceStore, type PresenceStore } from './presence-store';
import { RedisPresenceStore } from './redis-presence';

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

/** The store a socket's slot was taken in, so that its release goes to the same place. */
export type PresenceSlot = PresenceStore;

/**
 * Who is online: a user is online while at least one socket is open, on any
 * instance when REDIS_URL is set (the Redis store: counts renewed per instance, so
 * a killed instance stops counting by itself), on this one otherwise or while Redis
 * is away (the memory store). `offline` is announced PRESENCE_GRACE_MS after the
 * last socket closed, so that a page reload does not flicker; a reconnect on any
 * instance cancels it. Each transition is written to users.last_seen_at, then
 * reported to listeners (the gateway pushes it to the user's contacts).
 */
@Injectable()
export class PresenceService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceService.name);
  /** Where slots are taken: the first that answers (Redis, when configured), else memory. */
  private readonly stores: PresenceStore[];
  /** Sockets on this instance, whichever store counted them (gauges, and `online` while Redis is away). */
  private readonly sockets = new Map<string, number>();
  private readonly grace = new Map<string, NodeJS.Timeout>();
  private readonly listeners = new Set<(change: PresenceChange) => void>();
  private readonly graceMs: number;
  private stopped = false;
  private storeFailing = false;

  constructor(
    private readonly users: UsersService,
    private readonly availability: DatabaseAvailability,
    redis: RedisService,
    config: ConfigService<PresenceConfig, true>,
  ) {
    this.graceMs = config.get('PRESENCE_GRACE_MS', { infer: true });
    const memory = new MemoryPresenceStore();
    this.stores = redis.enabled
      ? [
          new RedisPresenceStore(
            redis.commands,
            redis.prefix,
            randomUUID(),
            config.get('PRESENCE_TTL_MS', { infer: true }),
            (error) => this.logger.warn({ err: error }, 'presence heartbeat failed'),
          ),
          memory,
        ]
      : [memory];
  }

  async onModuleInit(): Promise<void> {
    await Promise.all(this.stores.map((store) => store.start()));
  }

  onModuleDestroy(): void {
    this.stopped = true;
    for (const timer of this.grace.values()) clearTimeout(timer);
    this.grace.clear();
    for (const store of this.stores) void store.stop();
  }

  /** Takes a socket slot for the user, or undefined when the user already has `max` sockets. */
  async acquire(userId: string, max: number): Promise<PresenceSlot | undefined> {
    for (const [index, store] of this.stores.entries()) {
      // Falling back (Redis away): the limit counts every socket of this instance, whichever store took it.
      if (index > 0 && (this.sockets.get(userId) ?? 0) >= max) return undefined;
      let taken: { first: boolean } | undefined;
      try {
        taken = await store.acquire(userId, max);
      } catch (error) {
        if (index === this.stores.length - 1) throw error;
        if (!this.storeFailing)
          this.logger.warn({ err: error }, 'Redis unavailable: counting sockets on this instance only');
        this.storeFailing = true;
        continue;
      }
      if (index === 0) this.storeFailing = false;
      if (!taken) return undefined;
      this.count(userId, +1);
      // Back within the grace, or counted elsewhere already: nobody is told of a change.
      clearTimeout(this.grace.get(userId));
      this.grace.delete(userId);
      if (taken.first) this.change(userId, 'online');
      return store;
    }
    return undefined;
  }

  release(userId: string, slot: PresenceSlot): void {
    // Sockets closed by the shutdown itself: the process is going, not the users.
    if (this.stopped) return;
    this.count(userId, -1);
    slot.release(userId, this.graceMs).then(
      (stillGone) => stillGone && this.startGrace(userId, stillGone),
      (error: unknown) => this.logger.warn({ err: error, userId }, 'could not release a presence slot'),
    );
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, PresenceState>> {
    const now = new Date();
    const online = await this.stores[0]
      .online(userIds)
      .catch(() => userIds.map((id) => this.sockets.has(id) || this.grace.has(id)));
    return new Map(userIds.map((id, i) => [id, { online: online[i], lastSeenAt: online[i] ? now : null }]));
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

  private count(userId: string, delta: number): void {
    const count = (this.sockets.get(userId) ?? 0) + delta;
    if (count > 0) this.sockets.set(userId, count);
    else this.sockets.delete(userId);
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
