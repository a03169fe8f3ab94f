import { Injectable } from '@nestjs/common';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';
import { EventBus } from './event-bus';

/** One instance: synchronous delivery in publish order. */
@Injectable()
export class InProcessEventBus extends EventBus {
  publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void {
    this.dispatch({ name, payload } as DomainEvent);
  }
}
