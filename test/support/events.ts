import type { DomainEvent, DomainEventName } from '../../src/events/domain-events';
import { EventBus } from '../../src/events/event-bus';
import type { TestApp } from './test-app';

export type Recorded<K extends DomainEventName = DomainEventName> = Extract<DomainEvent, { name: K }>;

/** Records every domain event the app publishes. */
export function recordEvents(t: TestApp) {
  const events: DomainEvent[] = [];
  const unsubscribe = t.app.get(EventBus).subscribe((event) => events.push(event));
  return {
    events,
    of<K extends DomainEventName>(name: K): Recorded<K>[] {
      return events.filter((e): e is Recorded<K> => e.name === name);
    },
    clear: () => events.splice(0, events.length),
    stop: unsubscribe,
  };
}
