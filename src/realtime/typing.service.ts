import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { RealtimeConfig } from './realtime.config';
import { ConversationsService } from '../conversations/conversations.service';
import type { DomainEventOf } from '../events/domain-events';
import { EventBus } from '../events/event-bus';
import { OnDomainEvent } from '../events/on-domain-event.decorator';
import { wsError } from './ws-error.filter';
import { ERROR_CODES } from './ws-protocol';

interface Typist {
  timer: NodeJS.Timeout;
  recipients: string[];
}

/**
 * Typing indicators: the first `isTyping:true` is broadcast, refreshes within
 * TYPING_TTL_MS only extend it, and the server itself ends it (`isTyping:false`)
 * when no refresh came in time or the typist's last socket closed.
 */
@Injectable()
export class TypingService implements OnModuleDestroy {
  private readonly typists = new Map<string, Typist>();
  private readonly ttlMs: number;

  constructor(
    private readonly conversations: ConversationsService,
    private readonly events: EventBus,
    config: ConfigService<RealtimeConfig, true>,
  ) {
    this.ttlMs = config.get('TYPING_TTL_MS', { infer: true });
  }

  /** Membership changed: typists who left stop typing, and the others' audience is updated. */
  @OnDomainEvent('conversation.updated')
  onMembershipChanged(event: DomainEventOf<'conversation.updated'>): void {
    const { conversation } = event.payload;
    const members = conversation.participants.map((p) => p.id);
    for (const [key, typist] of [...this.typists]) {
      const [conversationId, userId] = key.split('|');
      if (conversationId !== conversation.id) continue;
      if (members.includes(userId)) typist.recipients = members;
      else this.end(key, conversationId, userId);
    }
  }

  /**
   * A typist's own indicator was started by a member (membership was checked then, and
   * a removal ends it), so refreshing or ending it needs no query; anything else is
   * checked, `isTyping:false` into a conversation the user is not in included.
   */
  async set(userId: string, conversationId: string, isTyping: boolean): Promise<void> {
    const key = `${conversationId}|${userId}`;
    const current = this.typists.get(key);
    if (current) {
      if (isTyping) {
        // A refresh: extend, broadcast nothing.
        clearTimeout(current.timer);
        current.timer = this.expiry(key, conversationId, userId);
      } else {
        this.end(key, conversationId, userId);
      }
      return;
    }
    const recipients = await this.conversations.memberIds(conversationId);
    if (!recipients.includes(userId)) throw wsError(ERROR_CODES.forbidden, 'Not a participant of this conversation');
    if (!isTyping || this.typists.has(key)) return; // nothing to end, or a concurrent start won
    this.typists.set(key, { timer: this.expiry(key, conversationId, userId), recipients });
    this.events.publish('typing', { recipients, conversationId, userId, isTyping: true });
  }

  /** The user's last socket closed: end all their indicators. */
  stopAll(userId: string): void {
    for (const key of [...this.typists.keys()]) {
      const [conversationId, typist] = key.split('|');
      if (typist === userId) this.end(key, conversationId, userId);
    }
  }

  get activeCount(): number {
    return this.typists.size;
  }

  onModuleDestroy(): void {
    for (const typist of this.typists.values()) clearTimeout(typist.timer);
    this.typists.clear();
  }

  private expiry(key: string, conversationId: string, userId: string): NodeJS.Timeout {
    return setTimeout(() => this.end(key, conversationId, userId), this.ttlMs).unref();
  }

  private end(key: string, conversationId: string, userId: string): void {
    const typist = this.typists.get(key);
    if (!typist) return;
    clearTimeout(typist.timer);
    this.typists.delete(key);
    this.events.publish('typing', { recipients: typist.recipients, conversationId, userId, isTyping: false });
  }
}
