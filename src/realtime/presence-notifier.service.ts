import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConversationsService } from '../conversations/conversations.service';
import { DatabaseAvailability } from '../database/database-availability.service';
import type { DomainEventOf } from '../events/domain-events';
import { EventBus } from '../events/event-bus';
import { OnDomainEvent } from '../events/on-domain-event.decorator';
import { PresenceService, type PresenceChange } from '../presence/presence.service';

const MAX_CACHED_USERS = 50_000;

/**
 * Publishes presence changes to the users who share a conversation with the
 * subject. Contact sets are cached per user and dropped for everyone a
 * membership change concerns (conversation.created / updated).
 */
@Injectable()
export class PresenceNotifier implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(PresenceNotifier.name);
  private readonly contacts = new Map<string, Promise<string[]>>();
  private readonly unsubscribers: (() => void)[] = [];

  constructor(
    private readonly presence: PresenceService,
    private readonly conversations: ConversationsService,
    private readonly events: EventBus,
    private readonly availability: DatabaseAvailability,
  ) {}

  onModuleInit(): void {
    this.unsubscribers.push(this.presence.onChange((change) => void this.announce(change)));
  }

  /** A membership changed: the contact sets of everyone it concerns are read again. */
  @OnDomainEvent('conversation.created', 'conversation.updated')
  forgetContacts(event: DomainEventOf<'conversation.created' | 'conversation.updated'>): void {
    for (const userId of event.payload.recipients) this.contacts.delete(userId);
  }

  onModuleDestroy(): void {
    for (const unsubscribe of this.unsubscribers) unsubscribe();
    this.contacts.clear();
  }

  contactsOf(userId: string): Promise<string[]> {
    let cached = this.contacts.get(userId);
    if (!cached) {
      if (this.contacts.size >= MAX_CACHED_USERS) this.contacts.delete(this.contacts.keys().next().value!);
      cached = this.conversations.contactsOf(userId);
      cached.catch(() => this.contacts.delete(userId));
      this.contacts.set(userId, cached);
    }
    return cached;
  }

  private async announce({ userId, status, lastSeenAt }: PresenceChange): Promise<void> {
    try {
      const recipients = await this.contactsOf(userId);
      if (recipients.length) {
        this.events.publish('presence', { recipients, userId, status, lastSeenAt: lastSeenAt.toISOString() });
      }
    } catch (error) {
      this.availability.warnUnlessUnavailable(this.logger, error, { userId }, 'could not announce presence');
    }
  }
}
