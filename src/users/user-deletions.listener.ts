import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Client } from 'pg';
import type { DatabaseConfig } from '../database/database.config';

/** Raised by the users table's AFTER DELETE trigger (migration NotifyUserDeletions). */
export const USER_DELETED_CHANNEL = 'parley_user_deleted';

/**
 * Tells this instance at once when a user row is deleted, however it was deleted
 * (an operator's DELETE included), through PostgreSQL LISTEN/NOTIFY on a connection
 * of its own: every instance hears every deletion without Redis. Notifications sent
 * while the connection was down are lost, so `listening` is false until it is back
 * and `onRelisten` handlers then forget whatever they cached.
 */
@Injectable()
export class UserDeletionsListener implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(UserDeletionsListener.name);
  private readonly url: string;
  private client?: Client;
  private retry?: NodeJS.Timeout;
  private attempts = 0;
  private stopped = false;
  private readonly deleted = new Set<(userId: string) => void>();
  private readonly relisten = new Set<() => void>();
  listening = false;

  constructor(config: ConfigService<DatabaseConfig, true>) {
    this.url = config.get('DATABASE_URL', { infer: true })!;
  }

  onModuleInit(): Promise<void> {
    return this.connect();
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retry);
    this.listening = false;
    await this.client?.end().catch(() => undefined);
  }

  onDeleted(handler: (userId: string) => void): () => void {
    this.deleted.add(handler);
    return () => this.deleted.delete(handler);
  }

  /** Called each time listening starts again after a loss (deletions may have been missed). */
  onRelisten(handler: () => void): () => void {
    this.relisten.add(handler);
    return () => this.relisten.delete(handler);
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({ connectionString: this.url, application_name: 'parley-listen' });
    const lost = (error?: Error) => this.lost(client, error);
    client.on('error', lost);
    client.on('end', lost);
    client.on('notification', ({ channel, payload }) => {
      if (channel === USER_DELETED_CHANNEL && payload) this.notify(payload);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${USER_DELETED_CHANNEL}`);
    } catch (error) {
      this.lost(client, error as Error);
      return;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    const wasLost = this.attempts > 0;
    this.client = client;
    this.attempts = 0;
    this.listening = true;
    if (wasLost) this.logger.log('listening for user deletions again');
    for (const handler of this.relisten) handler();
  }

  private lost(client: Client, error?: Error): void {
    if (client !== this.client && this.client) return; // an old connection's late event
    this.client = undefined;
    this.listening = false;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    client.end().catch(() => undefined);
    if (this.stopped || this.retry) return;
    if (this.attempts === 0) {
      this.logger.warn({ reason: error?.message }, 'lost the user deletions listener; retrying');
    }
    const delay = Math.min(100 * 2 ** this.attempts, 5_000);
    this.attempts += 1;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.connect();
    }, delay).unref();
  }

  private notify(userId: string): void {
    for (const handler of this.deleted) {
      try {
        handler(userId);
      } catch (error) {
        this.logger.error({ err: error }, 'user deletion handler failed');
      }
    }
  }
}
