import { OnModuleDestroy } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import { randomUUID } from 'node:crypto';
import type { RedisService } from '../redis/redis.service';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';
import { EventBus } from './event-bus';

/** After REDIS_PREFIX. */
export const EVENTS_CHANNEL = 'events';

/** What travels on the channel: the event, and who published it under which number. */
interface Envelope {
  origin: string;
  n: number;
  name: DomainEventName;
  payload: unknown;
}

/** An own event not yet back from Redis and not yet delivered here otherwise (undefined once delivered). */
interface Pending {
  event?: DomainEvent;
  at: number;
}

/** An own event that has not come back by then is taken as lost on the way and delivered here. */
export const OWN_EVENT_LOST_AFTER_MS = 5_000;
/** How long a delivered event's number is kept, so that a late copy from Redis is dropped. */
const DELIVERED_KEPT_MS = 60_000;
const SWEEP_MS = 1_000;

/**
 * Domain events through Redis pub/sub: each event is published once and every
 * instance, this one included, delivers it from its subscription, so that a
 * socket gets it exactly once whichever instance produced it.
 *
 * This instance's own events must reach its own sockets exactly once whatever
 * fails, and in whichever order the publishing and the subscribed connection
 * fail. So each own event is numbered and kept until it comes back; it is
 * delivered here instead as soon as it cannot come back: our subscription is down
 * (when it was published, or drops while it is on its way), the publish failed
 * or reached nobody, or it has not come back after OWN_EVENT_LOST_AFTER_MS (a
 * stalled Redis). A copy that comes back after that is dropped by its number.
 */
export class RedisEventBus extends EventBus implements OnModuleDestroy {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly origin = randomUUID();
  private published = 0;
  private readonly pending = new Map<number, Pending>();
  private subscribed = false;
  private publishFailing = false;
  private readonly readyWaiters: (() => void)[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private readonly channel: string;

  /** `publishFailures`: event_bus_publish_failures_total{reason}, counted here and read by the operator. */
  constructor(
    redis: RedisService,
    private readonly publishFailures: Counter<'reason'>,
  ) {
    super();
    this.channel = redis.prefix + EVENTS_CHANNEL;
    this.publisher = redis.connect('events-pub');
    // The subscriber may queue its SUBSCRIBE until connected, and redoes it after a reconnect.
    this.subscriber = redis.connect('events-sub', { enableOfflineQueue: true, maxRetriesPerRequest: null });
    this.subscriber.on('ready', () => {
      this.subscriber.subscribe(this.channel).then(
        () => {
          this.subscribed = true;
          for (const resolve of this.readyWaiters.splice(0)) resolve();
        },
        (error: unknown) => this.logger.warn({ err: error }, 'subscribe failed'),
      );
    });
    for (const event of ['close', 'end', 'reconnecting'] as const) this.subscriber.on(event, () => this.unsubscribed());
    this.subscriber.on('message', (_channel: string, text: string) => this.receive(text));
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS).unref();
  }

  publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void {
    const event = { name, payload } as DomainEvent;
    const n = (this.published += 1);
    const own: Pending = { event, at: Date.now() };
    this.pending.set(n, own);
    // Our subscription is down: it would not come back to us.
    if (!this.subscribed) this.deliverOwn(own);
    if (this.publisher.status !== 'ready') {
      this.publishFailures.inc({ reason: 'disconnected' });
      this.deliverOwn(own);
      return;
    }
    const envelope: Envelope = { origin: this.origin, n, name, payload };
    this.publisher.publish(this.channel, JSON.stringify(envelope)).then(
      (receivers) => {
        this.publishFailing = false;
        if (receivers === 0) this.deliverOwn(own); // nobody subscribed, ourselves included
      },
      (error: unknown) => {
        this.publishFailures.inc({ reason: 'error' });
        if (!this.publishFailing) {
          this.logger.warn({ err: error }, 'publishing to Redis failed: delivering on this instance only');
        }
        this.publishFailing = true;
        this.deliverOwn(own);
      },
    );
  }

  /** Resolves once this instance's subscription is live. */
  whenSubscribed(): Promise<void> {
    return this.subscribed ? Promise.resolve() : new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Own events on their way: published, not yet back, not yet delivered otherwise. */
  get inFlight(): number {
    let count = 0;
    for (const own of this.pending.values()) if (own.event) count += 1;
    return count;
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.clearHandlers();
  }

  private deliverOwn(own: Pending): void {
    const event = own.event;
    if (!event) return; // delivered already
    own.event = undefined;
    this.dispatch(event);
  }

  /** Whatever was on its way back through the dropped subscription is lost there: deliver it here, in order. */
  private unsubscribed(): void {
    this.subscribed = false;
    for (const own of this.pending.values()) this.deliverOwn(own);
  }

  private receive(text: string): void {
    let envelope: Partial<Envelope>;
    try {
      envelope = JSON.parse(text) as Partial<Envelope>;
    } catch {
      this.logger.warn('ignored a malformed event from Redis');
      return;
    }
    if (envelope.origin === this.origin) {
      const own = this.pending.get(envelope.n!);
      // Unknown: delivered here already and forgotten since, so this copy is a duplicate.
      if (!own) return;
      this.pending.delete(envelope.n!);
      this.deliverOwn(own);
      return;
    }
    this.dispatch({ name: envelope.name, payload: envelope.payload } as DomainEvent);
  }

  private sweep(now = Date.now()): void {
    for (const [n, own] of this.pending) {
      if (own.event && now - own.at > OWN_EVENT_LOST_AFTER_MS) this.deliverOwn(own);
      else if (!own.event && now - own.at > DELIVERED_KEPT_MS) this.pending.delete(n);
    }
  }
}
