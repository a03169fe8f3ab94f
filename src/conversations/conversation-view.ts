import type { MessageView } from '../messages/message-view';
import type { ConversationType } from './entities/conversation.entity';
import type { ParticipantRole } from './entities/participant.entity';

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
