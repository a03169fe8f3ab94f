import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { DomainEvent, DomainEventName } from './domain-events';
import { EventBus } from './event-bus';
import { ON_DOMAIN_EVENT } from './on-domain-event.decorator';

/** Subscribes every @OnDomainEvent method of every provider to the bus, at boot. */
@Injectable()
export class DomainEventHandlers implements OnModuleInit, OnModuleDestroy {
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    for (const { instance } of this.discovery.getProviders()) {
      if (!instance || typeof instance !== 'object') continue;
      const methods = instance as Record<string, unknown>;
      for (const key of this.scanner.getAllMethodNames(Object.getPrototypeOf(instance))) {
        const method = methods[key];
        if (typeof method !== 'function') continue;
        const names = Reflect.getMetadata(ON_DOMAIN_EVENT, method) as DomainEventName[] | undefined;
        if (!names) continue;
        const handler = (method as (event: DomainEvent) => void).bind(instance);
        this.unsubscribers.push(this.bus.subscribe(handler, names));
      }
    }
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
  }
}
