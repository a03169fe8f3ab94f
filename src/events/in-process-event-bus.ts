import { Injectable, Logger } from '@nestjs/common';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';
import { EventBus, type DomainEventHandler } from './event-bus';

/** Synchronous delivery in publish order; a failing handler never affects the publisher or other handlers. */
@Injectable()
export class InProcessEventBus extends EventBus {
  private readonly logger = new Logger(InProcessEventBus.name);
  private readonly handlers = new Set<DomainEventHandler>();

  publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void {
    const event = { name, payload } as DomainEvent;
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.logger.error({ err: error, event: name }, 'domain event handler failed');
      }
    }
  }

  subscribe(handler: DomainEventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }
}
