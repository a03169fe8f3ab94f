import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
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
      inject: [RedisService],
      useFactory: (redis: RedisService): EventBus =>
        redis.enabled ? new RedisEventBus(redis) : new InProcessEventBus(),
    },
  ],
  exports: [EventBus],
})
export class EventsModule {}
