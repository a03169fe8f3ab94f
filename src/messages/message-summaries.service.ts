import { Injectable } from '@nestjs/common';
import { MessageRepository } from './message.repository';
import { toMessageView, type MessageRow } from './message-view';
import type { MessageView, ReactionView } from '../contracts/views';

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
  constructor(private readonly messages: MessageRepository) {}

  /** Reactions of each message, in order of first use, with who reacted. */
  async reactionsByMessage(messageIds: readonly string[]): Promise<Map<string, ReactionView[]>> {
    const byMessage = new Map<string, ReactionView[]>();
    if (!messageIds.length) return byMessage;
    for (const row of await this.messages.reactionsOf(messageIds)) {
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
  /** Messages by id, with their reactions (a sync renders its log entries with them). */
  async viewsOf(messageIds: readonly string[]): Promise<Map<string, MessageView>> {
    if (!messageIds.length) return new Map();
    const views = await this.withReactions(await this.messages.byIds([...new Set(messageIds)]));
    return new Map(views.map((view) => [view.id, view]));
  }

  async lastMessages(refs: readonly { conversationId: string; seq: number }[]): Promise<Map<string, MessageView>> {
    const wanted = refs.filter((r) => r.seq > 0);
    if (!wanted.length) return new Map();
    const rows = await this.messages.atSeqs(wanted);
    return new Map((await this.withReactions(rows)).map((view) => [view.conversationId, view]));
  }

  /**
   * Messages of others after each user's read marker, deleted ones excluded.
   * Keys are `unreadKey(conversationId, userId)`; a missing key means 0.
   */
  async unreadCounts(queries: readonly UnreadQuery[]): Promise<Map<string, number>> {
    if (!queries.length) return new Map();
    const rows = await this.messages.unreadCounts(queries);
    return new Map(rows.map((row) => [unreadKey(row.conversation_id, row.user_id), row.unread]));
  }

  /** Senders of the messages with afterSeq < seq <= upToSeq, other than `exceptUserId`. */
  sendersBetween(conversationId: string, afterSeq: number, upToSeq: number, exceptUserId: string): Promise<string[]> {
    return this.messages.sendersBetween(conversationId, afterSeq, upToSeq, exceptUserId);
  }
}
