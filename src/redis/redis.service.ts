import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Redis, type RedisOptions } from 'ioredis';
import { Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import type { RedisConfig } from './redis.config';

/**
 * Redis connections of this instance (when REDIS_URL is set). Commands fail at
 * once while Redis is away (no offline queue), so callers fall back instead of
 * waiting; ioredis reconnects by itself with a capped backoff.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(RedisService.name);
  readonly url?: string;
  /** REDIS_PREFIX: every key and channel starts with it. */
  readonly prefix: string;
  private readonly clients: [name: string, client: Redis][] = [];
  private commandClient?: Redis;

  constructor(config: ConfigService<RedisConfig, true>, metrics: MetricsService) {
    this.url = config.get('REDIS_URL', { infer: true });
    this.prefix = config.get('REDIS_PREFIX', { infer: true });
    const clients = this.clients;
    new Gauge({
      name: 'redis_connected',
      help: "1 while the connection answers commands ('ready'), else 0, by connection (commands, events-pub, events-sub, ...)",
      labelNames: ['client'] as const,
      registers: [metrics.registry],
      collect() {
        for (const [name, client] of clients) this.set({ client: name }, client.status === 'ready' ? 1 : 0);
      },
    });
  }

  /** Connect at boot, so that the first health check finds the connection ready. */
  async onModuleInit(): Promise<void> {
    if (!this.enabled) return;
    const client = this.commands;
    if (client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      client.once('ready', resolve);
      client.once('error', () => resolve()); // down at boot: start anyway, reconnect later
    });
  }

  get enabled(): boolean {
    return this.url !== undefined;
  }

  /** A new connection (a subscriber needs its own). */
  connect(name: string, options: RedisOptions = {}): Redis {
    if (!this.url) throw new Error('REDIS_URL is not set');
    const client = new Redis(this.url, {
      connectionName: `parley:${name}`,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
      ...options,
    });
    let down = false;
    client.on('error', (error) => {
      if (!down) this.logger.warn({ err: error, client: name }, 'Redis unavailable; retrying');
      down = true;
    });
    client.on('ready', () => {
      if (down) this.logger.log({ client: name }, 'Redis reconnected');
      down = false;
    });
    this.clients.push([name, client]);
    return client;
  }

  /** The shared connection for plain commands. */
  get commands(): Redis {
    return (this.commandClient ??= this.connect('commands'));
  }

  /** True when Redis answers PING within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const pong = this.commands.ping().then(
      (answer) => answer === 'PONG',
      () => false,
    );
    try {
      return await Promise.race([pong, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.clients.map(([, client]) => client.quit().catch(() => client.disconnect())));
  }
}
