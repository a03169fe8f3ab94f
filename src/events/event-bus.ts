import { Logger } from '@nestjs/common';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';

export type DomainEventHandler = (event: DomainEvent) => void;

/**
 * Carries domain events from the services that emit them to whoever pushes them
 * (the realtime gateway). In-process by default; with REDIS_URL, Redis pub/sub.
 * Publish only after the change is committed, exactly once per change.
 */
export abstract class EventBus {
  protected readonly logger = new Logger(this.constructor.name);
  private readonly handlers = new Set<DomainEventHandler>();

  abstract publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void;

  /** Returns the function that unsubscribes. */
  subscribe(handler: DomainEventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Hands an event to every subscriber; a failing one affects neither the publisher nor the others. */
  protected dispatch(event: DomainEvent): void {
    for (const handler of this.handlers) {
      try {
        handler(event);
      } catch (error) {
        this.logger.error({ err: error, event: event.name }, 'domain event handler failed');
      }
    }
  }

  protected clearHandlers(): void {
    this.handlers.clear();
  }
}
