import { Logger } from '@nestjs/common';
import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';

export type DomainEventHandler = (event: DomainEvent) => void;

/**
 * Carries domain events from the services that emit them to their handlers
 * (@OnDomainEvent methods, found at boot). In-process by default; with REDIS_URL,
 * Redis pub/sub. Publish only after the change is committed, exactly once per change.
 */
export abstract class EventBus {
  protected readonly logger = new Logger(this.constructor.name);
  private readonly all = new Set<DomainEventHandler>();
  private readonly byName = new Map<DomainEventName, Set<DomainEventHandler>>();

  abstract publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void;

  /** Every event, or only those of `names`. Returns the function that unsubscribes. */
  subscribe(handler: DomainEventHandler, names?: readonly DomainEventName[]): () => void {
    if (!names) {
      this.all.add(handler);
      return () => this.all.delete(handler);
    }
    for (const name of names) {
      const handlers = this.byName.get(name) ?? new Set();
      handlers.add(handler);
      this.byName.set(name, handlers);
    }
    return () => names.forEach((name) => this.byName.get(name)?.delete(handler));
  }

  /** Hands an event to its handlers; a failing one affects neither the publisher nor the others. */
  protected dispatch(event: DomainEvent): void {
    for (const handler of this.byName.get(event.name) ?? []) this.run(handler, event);
    for (const handler of this.all) this.run(handler, event);
  }

  protected clearHandlers(): void {
    this.all.clear();
    this.byName.clear();
  }

  private run(handler: DomainEventHandler, event: DomainEvent): void {
    try {
      handler(event);
    } catch (error) {
      this.logger.error({ err: error, event: event.name }, 'domain event handler failed');
    }
  }
}
