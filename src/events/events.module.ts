import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Counter } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { RedisService } from '../redis/redis.service';
import { DomainEventHandlers } from './domain-event-handlers';
import { EventBus } from './event-bus';
import { InProcessEventBus } from './in-process-event-bus';
import { RedisEventBus } from './redis-event-bus';

/** The bus (Redis pub/sub with REDIS_URL, else in-process) and the discovery of its handlers. */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    DomainEventHandlers,
    {
      provide: EventBus,
      inject: [RedisService, MetricsService],
      useFactory: (redis: RedisService, metrics: MetricsService): EventBus =>
        redis.enabled ? new RedisEventBus(redis, publishFailuresCounter(metrics)) : new InProcessEventBus(),
    },
  ],
  exports: [EventBus],
})
export class EventsModule {}

/** Publishes that did not reach Redis (the event was delivered on this instance only). */
function publishFailuresCounter(metrics: MetricsService): Counter<'reason'> {
  const counter = new Counter({
    name: 'event_bus_publish_failures_total',
    help: 'Domain events not published to Redis (delivered on this instance only), by reason: error or disconnected',
    labelNames: ['reason'] as const,
    registers: [metrics.registry],
  });
  // Both series from the start, so that rate() sees the first failure.
  for (const reason of ['error', 'disconnected']) counter.inc({ reason }, 0);
  return counter;
}
