import type { ConversationView, MessageView, ReactionView } from '../contracts/views';
import type { ChangeMark } from '../database/change-mark';

/** A payload type, written once; the value is never read (the keys below are). */
const payload = <P>() => undefined as unknown as P;

/**
 * The one map of domain events: emitted by services after their transaction
 * commits, pushed to sockets by the realtime gateway (its @OnDomainEvent methods).
 * Every event names the users it concerns (`recipients`), so fan-out needs no
 * database query. A stored change's event says where it is in the change log (`change`). The names are this object's keys, so the list cannot drift.
 */
const DOMAIN_EVENTS = {
  'message.created': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    message: MessageView;
    /**
     * When the message before it (seq - 1) was created, as the sending statement saw
     * it; null for seq 1, and when that message committed concurrently (so its own
     * event may still be on its way). Fan-out orders by it; it is not pushed.
     */
    previousCreatedAt: string | null;
  }>(),
  'message.updated': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    message: MessageView;
  }>(),
  'message.deleted': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    messageId: string;
    seq: number;
  }>(),
  'message.read': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    userId: string;
    seq: number;
    readAt: string;
  }>(),
  'message.delivered': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    userId: string;
    seq: number;
  }>(),
  'reaction.updated': payload<{
    recipients: string[];
    change: ChangeMark;
    conversationId: string;
    messageId: string;
    reactions: ReactionView[];
  }>(),
  'conversation.created': payload<{ recipients: string[]; change: ChangeMark; conversation: ConversationView }>(),
  'conversation.updated': payload<{ recipients: string[]; change: ChangeMark; conversation: ConversationView }>(),
  // Ephemeral, not stored: they travel the same bus so that they reach every instance.
  typing: payload<{ recipients: string[]; conversationId: string; userId: string; isTyping: boolean }>(),
  presence: payload<{ recipients: string[]; userId: string; status: 'online' | 'offline'; lastSeenAt: string }>(),
};

export type DomainEvents = typeof DOMAIN_EVENTS;

export type DomainEventName = keyof DomainEvents;

export type DomainEvent = { [K in DomainEventName]: { name: K; payload: DomainEvents[K] } }[DomainEventName];

/** The event of one name (or of one of several names). */
export type DomainEventOf<K extends DomainEventName> = Extract<DomainEvent, { name: K }>;

export const DOMAIN_EVENT_NAMES = Object.keys(DOMAIN_EVENTS) as readonly DomainEventName[];
