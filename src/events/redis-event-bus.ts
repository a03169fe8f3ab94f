import { OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { RedisService } from '../redis/redis.service';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';
import { EventBus } from './event-bus';

export const EVENTS_CHANNEL = 'parley:events';

/**
 * Domain events through Redis pub/sub: each event is published once and every
 * instance, this one included, delivers it from its subscription, so that a
 * socket gets it exactly once whichever instance produced it (no local-plus-
 * remote double path). When this instance's subscription is down, it delivers
 * its own events locally instead (same-instance delivery survives a Redis
 * outage); when publishing is impossible, it delivers locally only.
 */
export class RedisEventBus extends EventBus implements OnModuleDestroy {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private subscribed = false;
  private readonly readyWaiters: (() => void)[] = [];

  constructor(redis: RedisService) {
    super();
    this.publisher = redis.connect('events-pub');
    // The subscriber may queue its SUBSCRIBE until connected, and redoes it after a reconnect.
    this.subscriber = redis.connect('events-sub', { enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(EVENTS_CHANNEL).then(
        () => {
          this.subscribed = true;
          for (const resolve of this.readyWaiters.splice(0)) resolve();
        },
        (error: unknown) => this.logger.warn({ err: error }, 'subscribe failed'),
      );
    });
    for (const event of ['close', 'end', 'reconnecting'] as const)
      this.subscriber.on(event, () => (this.subscribed = false));
    this.subscriber.on('message', (_channel: string, text: string) => this.receive(text));
  }

  publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void {
    const event = { name, payload } as DomainEvent;
    const text = JSON.stringify(event);
    const canPublish = this.publisher.status === 'ready';
    if (canPublish) {
      this.publisher.publish(EVENTS_CHANNEL, text).catch((error: unknown) => {
        this.logger.warn({ err: error, event: name }, 'publish failed: delivering on this instance only');
        if (this.subscribed) this.dispatch(event);
      });
    }
    // Without our own subscription the event would not come back to us.
    if (!canPublish || !this.subscribed) this.dispatch(event);
  }

  /** Resolves once this instance's subscription is live. */
  whenSubscribed(): Promise<void> {
    return this.subscribed ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  onModuleDestroy(): void {
    this.clearHandlers();
  }

  private receive(text: string): void {
    let event: DomainEvent;
    try {
      event = JSON.parse(text) as DomainEvent;
    } catch {
      this.logger.warn('ignored a malformed event from Redis');
      return;
    }
    this.dispatch(event);
  }
}
