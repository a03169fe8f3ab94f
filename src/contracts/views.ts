/**
 * The viewer-independent views that domain events carry (src/events/domain-events.ts)
 * and that the REST DTOs and socket frames are made from. They sit below the
 * feature modules, so that the event map imports no feature.
 */

export type ConversationType = 'direct' | 'group';
export type ParticipantRole = 'owner' | 'admin' | 'member';

/**
 * The viewer-independent form of a message, carried by domain events. A socket or
 * REST answer turns it into the contract's Message with `toMessageDto`, which
 * computes `reactions[].me` for the viewer.
 */
export interface ReactionView {
  emoji: string;
  count: number;
  userIds: string[];
}

export interface MessageView {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  content: string | null;
  clientMessageId: string | null;
  replyToId: string | null;
  createdAt: string;
  editedAt: string | null;
  deleted: boolean;
  reactions: ReactionView[];
}

export interface ParticipantView {
  id: string;
  username: string;
  displayName: string;
  role: ParticipantRole;
  lastReadSeq: number;
  /** As persisted; Presence has the live value. */
  lastSeenAt: string | null;
}

/**
 * The viewer-independent form of a conversation, carried by domain events.
 * `unreadCounts` holds the counts of the users it was built for; presence is
 * added when it is turned into a ConversationDto for one viewer.
 */
export interface ConversationView {
  id: string;
  type: ConversationType;
  title: string | null;
  participants: ParticipantView[];
  lastMessage: MessageView | null;
  lastSeq: number;
  createdAt: string;
  updatedAt: string;
  unreadCounts: Record<string, number>;
}
