import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { Message } from './entities/message.entity';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView, type ReactionView } from './message-view';
import { queryRows } from '../database/sql';

export interface UnreadQuery {
  conversationId: string;
  userId: string;
  /** The user's read marker. */
  afterSeq: number;
}

export const unreadKey = (conversationId: string, userId: string) => `${conversationId}|${userId}`;

/**
 * Read-only questions about messages that other modules ask in bulk (last
 * messages, unread counts, reactions): one query each, whatever the number of
 * conversations. It depends on nothing else, so Conversations can use it while
 * MessagesService uses Conversations.
 */
@Injectable()
export class MessageSummariesService {
  constructor(@InjectRepository(Message) private readonly messages: Repository<Message>) {}

  /** Reactions of each message, in order of first use, with who reacted. */
  async reactionsByMessage(messageIds: readonly string[]): Promise<Map<string, ReactionView[]>> {
    const byMessage = new Map<string, ReactionView[]>();
    if (!messageIds.length) return byMessage;
    const rows = await queryRows<{ message_id: string; emoji: string; count: number; user_ids: string[] }>(
      this.messages,
      `SELECT message_id, emoji, count(*)::int AS count, array_agg(user_id::text ORDER BY created_at, user_id) AS user_ids
         FROM message_reactions WHERE message_id = ANY($1::uuid[])
        GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji`,
      [messageIds],
    );
    for (const row of rows) {
      const list = byMessage.get(row.message_id) ?? [];
      list.push({ emoji: row.emoji, count: row.count, userIds: row.user_ids });
      byMessage.set(row.message_id, list);
    }
    return byMessage;
  }

  /** Rows to views, with their reactions (one more query when there are rows). */
  async withReactions(rows: MessageRow[]): Promise<MessageView[]> {
    const reactions = await this.reactionsByMessage(rows.filter((r) => !r.deleted_at).map((r) => r.id));
    return rows.map((row) => toMessageView(row, reactions.get(row.id)));
  }

  /** The message with the given seq of each conversation. */
  async lastMessages(refs: readonly { conversationId: string; seq: number }[]): Promise<Map<string, MessageView>> {
    const wanted = refs.filter((r) => r.seq > 0);
    if (!wanted.length) return new Map();
    const rows = await queryRows<MessageRow>(
      this.messages,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m
         JOIN unnest($1::uuid[], $2::int[]) AS t(conversation_id, seq)
           ON m.conversation_id = t.conversation_id AND m.seq = t.seq`,
      [wanted.map((r) => r.conversationId), wanted.map((r) => r.seq)],
    );
    return new Map((await this.withReactions(rows)).map((view) => [view.conversationId, view]));
  }

  /**
   * Messages of others after each user's read marker, deleted ones excluded.
   * Keys are `unreadKey(conversationId, userId)`; a missing key means 0.
   */
  async unreadCounts(queries: readonly UnreadQuery[]): Promise<Map<string, number>> {
    if (!queries.length) return new Map();
    const rows = await queryRows<{ conversation_id: string; user_id: string; unread: number }>(
      this.messages,
      `SELECT t.conversation_id, t.user_id, count(*)::int AS unread
         FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS t(conversation_id, user_id, after_seq)
         JOIN messages m ON m.conversation_id = t.conversation_id AND m.seq > t.after_seq
                        AND m.sender_id <> t.user_id AND m.deleted_at IS NULL
        GROUP BY t.conversation_id, t.user_id`,
      [queries.map((q) => q.conversationId), queries.map((q) => q.userId), queries.map((q) => q.afterSeq)],
    );
    return new Map(rows.map((row) => [unreadKey(row.conversation_id, row.user_id), row.unread]));
  }

  /** Current participants who sent messages with afterSeq < seq <= upToSeq, other than `exceptUserId`. */
  async sendersBetween(
    conversationId: string,
    afterSeq: number,
    upToSeq: number,
    exceptUserId: string,
  ): Promise<string[]> {
    const rows = await queryRows<{ sender_id: string }>(
      this.messages,
      `SELECT DISTINCT m.sender_id FROM messages m
         JOIN conversation_participants p
           ON p.conversation_id = m.conversation_id AND p.user_id = m.sender_id AND p.left_at IS NULL
        WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq <= $3 AND m.sender_id <> $4`,
      [conversationId, afterSeq, upToSeq, exceptUserId],
    );
    return rows.map((r) => r.sender_id);
  }
}
