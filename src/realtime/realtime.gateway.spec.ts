import { DOMAIN_EVENT_NAMES } from '../events/domain-events';
import { ON_DOMAIN_EVENT } from '../events/on-domain-event.decorator';
import { RealtimeGateway } from './realtime.gateway';

describe('RealtimeGateway', () => {
  it('declares the push of every domain event, each once', () => {
    const prototype = RealtimeGateway.prototype as unknown as Record<string, unknown>;
    const pushed = Object.getOwnPropertyNames(prototype).flatMap(
      (key) => (Reflect.getMetadata(ON_DOMAIN_EVENT, prototype[key] as object) as string[] | undefined) ?? [],
    );
    expect([...pushed].sort()).toEqual([...DOMAIN_EVENT_NAMES].sort());
  });
});
