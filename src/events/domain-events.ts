import type { ConversationView } from '../conversations/conversation-view';
import type { MessageView, ReactionView } from '../messages/message-view';

/**
 * The one map of domain events: emitted by services after their transaction
 * commits, pushed to sockets by the realtime gateway. Every event names the users
 * it concerns (`recipients`), so fan-out needs no database query.
 */
export interface DomainEvents {
  'message.created': {
    recipients: string[];
    conversationId: string;
    message: MessageView;
    /**
     * When the message before it (seq - 1) was created, as the sending statement saw
     * it; null for seq 1, and when that message committed concurrently (so its own
     * event may still be on its way). Fan-out orders by it; it is not pushed.
     */
    previousCreatedAt: string | null;
  };
  'message.updated': { recipients: string[]; conversationId: string; message: MessageView };
  'message.deleted': { recipients: string[]; conversationId: string; messageId: string; seq: number };
  'message.read': { recipients: string[]; conversationId: string; userId: string; seq: number; readAt: string };
  'message.delivered': { recipients: string[]; conversationId: string; userId: string; seq: number };
  'reaction.updated': { recipients: string[]; conversationId: string; messageId: string; reactions: ReactionView[] };
  'conversation.created': { recipients: string[]; conversation: ConversationView };
  'conversation.updated': { recipients: string[]; conversation: ConversationView };
  // Ephemeral, not stored: they travel the same bus so that they reach every instance.
  typing: { recipients: string[]; conversationId: string; userId: string; isTyping: boolean };
  presence: { recipients: string[]; userId: string; status: 'online' | 'offline'; lastSeenAt: string };
}

export type DomainEventName = keyof DomainEvents;

export type DomainEvent = { [K in DomainEventName]: { name: K; payload: DomainEvents[K] } }[DomainEventName];

export const DOMAIN_EVENT_NAMES: readonly DomainEventName[] = [
  'message.created',
  'message.updated',
  'message.deleted',
  'message.read',
  'message.delivered',
  'reaction.updated',
  'conversation.created',
  'conversation.updated',
  'typing',
  'presence',
];
