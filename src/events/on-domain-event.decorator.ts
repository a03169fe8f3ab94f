import type { DomainEventName, DomainEventOf } from './domain-events';

export const ON_DOMAIN_EVENT = 'parley:on-domain-event';

/**
 * Marks a provider's method as the handler of these domain events, on every
 * instance. Found at boot (DomainEventHandlers), so searching for an event's name
 * finds every consumer. A handler runs synchronously in publish order; what it
 * throws is logged and affects neither the publisher nor the other handlers.
 */
export function OnDomainEvent<K extends DomainEventName>(...names: K[]) {
  return (
    _target: object,
    _key: string | symbol,
    descriptor: TypedPropertyDescriptor<(event: DomainEventOf<K>) => void>,
  ): void => {
    Reflect.defineMetadata(ON_DOMAIN_EVENT, names, descriptor.value!);
  };
}
