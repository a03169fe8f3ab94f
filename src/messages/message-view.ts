import type { MessageView, ReactionView } from '../contracts/views';

/** A messages row as read by raw SQL (snake_case). */
export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: number;
  sender_id: string;
  content: string | null;
  client_message_id: string | null;
  reply_to_id: string | null;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
}

export const MESSAGE_COLUMNS =
  'm.id, m.conversation_id, m.seq, m.sender_id, m.content, m.client_message_id, m.reply_to_id, m.created_at, m.edited_at, m.deleted_at';

export function toMessageView(row: MessageRow, reactions: ReactionView[] = []): MessageView {
  const deleted = row.deleted_at !== null;
  return {
    id: row.id,
    conversationId: row.conversation_id,
    seq: row.seq,
    senderId: row.sender_id,
    content: deleted ? null : row.content,
    clientMessageId: row.client_message_id,
    replyToId: row.reply_to_id,
    createdAt: row.created_at.toISOString(),
    editedAt: row.edited_at?.toISOString() ?? null,
    deleted,
    reactions: deleted ? [] : reactions,
  };
}
