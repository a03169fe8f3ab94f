import type { DomainEvent, DomainEventName, DomainEvents } from './domain-events';

export type DomainEventHandler = (event: DomainEvent) => void;

/**
 * Carries domain events from the services that emit them to whoever pushes them
 * (the realtime gateway). In-process by default; the scale-out backs it with Redis.
 * Publish only after the change is committed, exactly once per change.
 */
export abstract class EventBus {
  abstract publish<K extends DomainEventName>(name: K, payload: DomainEvents[K]): void;
  /** Returns the function that unsubscribes. */
  abstract subscribe(handler: DomainEventHandler): () => void;
}
