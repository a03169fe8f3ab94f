import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { changeMarkIn, type ChangeMark } from '../database/change-mark';
import { queryRows } from '../database/sql';
import { MESSAGE_COLUMNS, type MessageRow } from './message-view';

const RETURNING = MESSAGE_COLUMNS.replace(/m\./g, '');

export interface ReactionRow {
  message_id: string;
  emoji: string;
  count: number;
  user_ids: string[];
}

/**
 * Every statement on `messages` and `message_reactions` but the send
 * (send.statement.ts). It answers what is stored; the rules are the services'.
 */
@Injectable()
export class MessageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** A page by seq: after `after`, before `before`, or both; one row more than `limit`. */
  page(
    conversationId: string,
    range: { after?: number; before?: number },
    limit: number,
    order: 'ASC' | 'DESC',
  ): Promise<MessageRow[]> {
    return queryRows(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m
        WHERE m.conversation_id = $1
          AND ($2::int IS NULL OR m.seq > $2) AND ($3::int IS NULL OR m.seq < $3)
        ORDER BY m.seq ${order === 'ASC' ? 'ASC' : 'DESC'} LIMIT $4`,
      [conversationId, range.after ?? null, range.before ?? null, limit + 1],
    );
  }

  /** The message and its age by the database's clock (edit windows must not trust this host's). */
  async findWithAge(messageId: string): Promise<{ row: MessageRow; ageMs: number } | undefined> {
    const [found] = await queryRows<MessageRow & { age_ms: string }>(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS}, (extract(epoch FROM clock_timestamp() - m.created_at) * 1000)::bigint AS age_ms
         FROM messages m WHERE m.id = $1`,
      [messageId],
    );
    if (!found) return undefined;
    const { age_ms, ...row } = found;
    return { row, ageMs: Number(age_ms) };
  }

  async findByClientMessageId(senderId: string, clientMessageId: string): Promise<MessageRow | undefined> {
    const [row] = await queryRows<MessageRow>(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = $1 AND m.client_message_id = $2`,
      [senderId, clientMessageId],
    );
    return row;
  }

  /** The edited row, or undefined when the message was deleted meanwhile. */
  /** The edited row and its change mark; undefined when the message was deleted meanwhile. */
  updateContent(messageId: string, content: string): Promise<{ row: MessageRow; change: ChangeMark } | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await queryRows<MessageRow>(
        manager,
        `UPDATE messages SET content = $2, edited_at = clock_timestamp() WHERE id = $1 AND deleted_at IS NULL RETURNING ${RETURNING}`,
        [messageId, content],
      );
      return row && { row, change: (await changeMarkIn(manager, row.conversation_id))! };
    });
  }

  /** Content and reactions go, the seq stays; undefined when it was deleted already. */
  softDelete(messageId: string, deletedBy: string): Promise<ChangeMark | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const [row] = await queryRows<{ conversation_id: string }>(
        manager,
        `UPDATE messages SET content = NULL, deleted_at = clock_timestamp(), deleted_by = $2
          WHERE id = $1 AND deleted_at IS NULL RETURNING conversation_id`,
        [messageId, deletedBy],
      );
      if (!row) return undefined;
      await queryRows(manager, 'DELETE FROM message_reactions WHERE message_id = $1', [messageId]);
      return changeMarkIn(manager, row.conversation_id);
    });
  }

  /** The change mark when the reaction was not there yet. */
  addReaction(messageId: string, userId: string, emoji: string): Promise<ChangeMark | undefined> {
    return this.changeReaction(
      messageId,
      `INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING 1`,
      [messageId, userId, emoji],
    );
  }

  /** The change mark when the reaction was there. */
  removeReaction(messageId: string, userId: string, emoji: string): Promise<ChangeMark | undefined> {
    return this.changeReaction(
      messageId,
      'DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING 1',
      [messageId, userId, emoji],
    );
  }

  private changeReaction(messageId: string, sql: string, parameters: unknown[]): Promise<ChangeMark | undefined> {
    return this.dataSource.transaction(async (manager) => {
      const changed = await queryRows(manager, sql, parameters);
      if (!changed.length) return undefined;
      const [message] = await queryRows<{ conversation_id: string }>(
        manager,
        'SELECT conversation_id FROM messages WHERE id = $1',
        [messageId],
      );
      return changeMarkIn(manager, message.conversation_id);
    });
  }

  /** Reactions of the messages, per emoji in order of first use, with who reacted. */
  reactionsOf(messageIds: readonly string[]): Promise<ReactionRow[]> {
    return queryRows(
      this.dataSource,
      `SELECT message_id, emoji, count(*)::int AS count, array_agg(user_id::text ORDER BY created_at, user_id) AS user_ids
         FROM message_reactions WHERE message_id = ANY($1::uuid[])
        GROUP BY message_id, emoji ORDER BY message_id, min(created_at), emoji`,
      [messageIds],
    );
  }

  byIds(messageIds: readonly string[]): Promise<MessageRow[]> {
    return queryRows(this.dataSource, `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.id = ANY($1::uuid[])`, [
      messageIds,
    ]);
  }

  /** The message with the given seq of each conversation. */
  atSeqs(refs: readonly { conversationId: string; seq: number }[]): Promise<MessageRow[]> {
    return queryRows(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m
         JOIN unnest($1::uuid[], $2::int[]) AS t(conversation_id, seq)
           ON m.conversation_id = t.conversation_id AND m.seq = t.seq`,
      [refs.map((r) => r.conversationId), refs.map((r) => r.seq)],
    );
  }

  /** Messages of others after each user's marker, deleted ones excluded (no row: 0). */
  unreadCounts(
    queries: readonly { conversationId: string; userId: string; afterSeq: number }[],
  ): Promise<{ conversation_id: string; user_id: string; unread: number }[]> {
    return queryRows(
      this.dataSource,
      `SELECT t.conversation_id, t.user_id, count(*)::int AS unread
         FROM unnest($1::uuid[], $2::uuid[], $3::int[]) AS t(conversation_id, user_id, after_seq)
         JOIN messages m ON m.conversation_id = t.conversation_id AND m.seq > t.after_seq
                        AND m.sender_id <> t.user_id AND m.deleted_at IS NULL
        GROUP BY t.conversation_id, t.user_id`,
      [queries.map((q) => q.conversationId), queries.map((q) => q.userId), queries.map((q) => q.afterSeq)],
    );
  }

  /** Senders of the messages with afterSeq < seq <= upToSeq, other than `exceptUserId`. */
  async sendersBetween(
    conversationId: string,
    afterSeq: number,
    upToSeq: number,
    exceptUserId: string,
  ): Promise<string[]> {
    const rows = await queryRows<{ sender_id: string }>(
      this.dataSource,
      `SELECT DISTINCT m.sender_id FROM messages m
        WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq <= $3 AND m.sender_id <> $4`,
      [conversationId, afterSeq, upToSeq, exceptUserId],
    );
    return rows.map((r) => r.sender_id);
  }
}
