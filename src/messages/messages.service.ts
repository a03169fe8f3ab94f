import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { Environment } from '../config/environment';
import {
  allocateSeqCte,
  allocateSeqsCtes,
  ConversationsService,
  type Membership,
} from '../conversations/conversations.service';
import { EventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import { RateLimit, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { RateLimitedException } from '../rate-limit/rate-limited.exception';
import { MessageSummariesService } from './message-summaries.service';
import { Batcher, type ItemOutcome } from './send-batcher';
import { MESSAGE_COLUMNS, toMessageView, type MessageRow, type MessageView } from './message-view';
import { databaseError, preparedRows, queryRows } from '../database/sql';

export const MESSAGE_PAGE_DEFAULT = 50;

export interface SendMessageInput {
  content: string;
  clientMessageId?: string;
  replyToId?: string;
}

export interface MessagePage {
  items: MessageView[];
  hasMore: boolean;
}

const MESSAGE_NOT_FOUND = 'Message not found';
const RETURNING = MESSAGE_COLUMNS.replace(/m\./g, '');

/**
 * When the message before each one (seq - 1) was created, for fan-out's ordering
 * (see SeqOrderer): NULL when it is not in this statement's snapshot, that is, when
 * it committed while this statement waited for the conversation's lock or is in the
 * same batch, which means it may still be on its way to the sockets.
 */
const PREVIOUS_CREATED_AT = `(SELECT p.created_at FROM messages p
     WHERE p.conversation_id = inserted.conversation_id AND p.seq = inserted.seq - 1) AS previous_created_at`;

// One message in one statement, so one transaction: the seq taken, membership and
// the reply target checked, the row inserted and the recipients returned, or no
// row at all (the send was not accepted).
const SEND_ONE_SQL = `WITH ${allocateSeqCte(
  '$1::uuid',
  '$2::uuid',
  '($5::uuid IS NULL OR EXISTS (SELECT 1 FROM messages r WHERE r.id = $5::uuid AND r.conversation_id = c.id))',
)},
  inserted AS (
    INSERT INTO messages (conversation_id, seq, sender_id, content, client_message_id, reply_to_id)
    SELECT id, seq, $2, $3, $4, $5 FROM allocated
    RETURNING ${RETURNING})
  SELECT inserted.*, 0 AS ord, allocated.member_ids, ${PREVIOUS_CREATED_AT} FROM inserted, allocated`;

// Several messages in one statement, so one transaction: each message's
// sender must take part and its reply target be in the same conversation; those
// that pass take their seqs and are inserted, with their conversation's recipients.
// A message that does not pass simply has no row (`ord` says which rows are whose).
const SEND_MANY_SQL = `WITH input AS (
    SELECT * FROM unnest($1::int[], $2::uuid[], $3::uuid[], $4::text[], $5::varchar[], $6::uuid[])
      AS i(ord, conversation_id, sender_id, content, client_message_id, reply_to_id)),
  accepted AS (
    SELECT i.* FROM input i
     WHERE EXISTS (SELECT 1 FROM conversation_participants p
                    WHERE p.conversation_id = i.conversation_id AND p.user_id = i.sender_id AND p.left_at IS NULL)
       AND (i.reply_to_id IS NULL OR EXISTS (SELECT 1 FROM messages r
                    WHERE r.id = i.reply_to_id AND r.conversation_id = i.conversation_id))),
  ${allocateSeqsCtes('accepted')},
  inserted AS (
    INSERT INTO messages (conversation_id, seq, sender_id, content, client_message_id, reply_to_id)
    SELECT conversation_id, seq, sender_id, content, client_message_id, reply_to_id FROM numbered
    RETURNING ${RETURNING})
  SELECT inserted.*, numbered.ord, numbered.member_ids, ${PREVIOUS_CREATED_AT}
    FROM inserted JOIN numbered ON numbered.conversation_id = inserted.conversation_id AND numbered.seq = inserted.seq`;

/**
 * Send statements in flight at once; sends arriving meanwhile go together in the
 * next one. Two keep PostgreSQL busy while this process prepares the next batch;
 * more made smaller batches and cost more (measured with npm run bench: 2 gave
 * 2,701-2,806 msgs/s where 4 gave 2,157-2,428, interleaved runs).
 */
const SEND_STATEMENTS_IN_FLIGHT = 2;
const SEND_BATCH_MAX = 64;

interface SendItem {
  senderId: string;
  conversationId: string;
  content: string;
  clientMessageId: string | null;
  replyToId: string | null;
}

/** A stored message and its conversation's participants, or undefined when the send was not accepted. */
type Sent = { row: MessageRow; memberIds: string[]; previousCreatedAt: Date | null } | undefined;

const CLIENT_MESSAGE_ID_INDEX = 'UQ_messages_sender_client_message_id';

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = databaseError(error);
  return driverError?.code === UNIQUE_VIOLATION && driverError.constraint === constraint;
}

@Injectable()
export class MessagesService {
  private readonly sendLimit: RateLimit;
  private readonly maxLength: number;
  private readonly editWindowMs: number;

  /** Sends share statements under load (group commit); see storeBatch. */
  private readonly sends = new Batcher<SendItem, Sent>(
    (items) => this.storeBatch(items),
    SEND_STATEMENTS_IN_FLIGHT,
    SEND_BATCH_MAX,
  );

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly conversations: ConversationsService,
    private readonly summaries: MessageSummariesService,
    private readonly limiter: RateLimiterService,
    private readonly events: EventBus,
    private readonly metrics: MetricsService,
    config: ConfigService<Environment, true>,
  ) {
    this.sendLimit = { limit: config.get('RATE_SEND_PER_SEC', { infer: true }), windowMs: 1_000 };
    this.maxLength = config.get('MESSAGE_MAX_LENGTH', { infer: true });
    this.editWindowMs = config.get('EDIT_WINDOW_MS', { infer: true });
  }

  /**
   * Stores a batch in one statement. If a batch of several hits a unique index (a
   * clientMessageId already used, two retries of one message in the same batch),
   * every item is sent again on its own, so that each gets its own answer.
   */
  private async storeBatch(items: SendItem[]): Promise<ItemOutcome<Sent>[]> {
    try {
      return (await this.storeTogether(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (items.length === 1 || databaseError(error)?.code !== UNIQUE_VIOLATION) {
        return items.map(() => ({ ok: false, error }));
      }
      return Promise.all(
        items.map((item) =>
          this.storeTogether([item]).then(
            ([value]) => ({ ok: true as const, value }),
            (itemError: unknown) => ({ ok: false as const, error: itemError }),
          ),
        ),
      );
    }
  }

  private async storeTogether(items: SendItem[]): Promise<Sent[]> {
    type Row = MessageRow & { ord: number; member_ids: string[]; previous_created_at: Date | null };
    // A lone send takes the simpler statement: cheaper for PostgreSQL than a batch of one.
    const rows =
      items.length === 1
        ? await preparedRows<Row>(this.dataSource, 'message-send-one', SEND_ONE_SQL, [
            items[0].conversationId,
            items[0].senderId,
            items[0].content,
            items[0].clientMessageId,
            items[0].replyToId,
          ])
        : await preparedRows<Row>(this.dataSource, 'message-send-many', SEND_MANY_SQL, [
            items.map((_, i) => i),
            items.map((i) => i.conversationId),
            items.map((i) => i.senderId),
            items.map((i) => i.content),
            items.map((i) => i.clientMessageId),
            items.map((i) => i.replyToId),
          ]);
    const sent: Sent[] = items.map(() => undefined);
    for (const { ord, member_ids: memberIds, previous_created_at: previousCreatedAt, ...row } of rows) {
      sent[ord] = { row, memberIds, previousCreatedAt };
    }
    return sent;
  }

  /**
   * Sends a message: `created` is false when the same sender already sent this
   * clientMessageId with the same content (a retry): the original comes back, no
   * second row, no second event, no seq used. The REST call and the socket's
   * `message.send` both come here, and share the per-user send limit.
   */
  async send(
    senderId: string,
    conversationId: string,
    input: SendMessageInput,
  ): Promise<{ message: MessageView; created: boolean }> {
    const allowed = this.limiter.consume(`send:${senderId}`, this.sendLimit);
    if (!allowed.allowed) throw new RateLimitedException(allowed.retryAfterMs, 'Too many messages, slow down');
    this.assertContent(input.content);
    let sent: Sent;
    try {
      sent = await this.sends.submit({
        senderId,
        conversationId,
        content: input.content,
        clientMessageId: input.clientMessageId ?? null,
        replyToId: input.replyToId ?? null,
      });
    } catch (error) {
      // The unique (sender, clientMessageId) index refused it: a retry. The statement
      // rolled back whole, its seq included.
      if (isUniqueViolation(error, CLIENT_MESSAGE_ID_INDEX)) return this.earlierSend(senderId, conversationId, input);
      throw error;
    }
    if (!sent) {
      await this.conversations.membership(conversationId, senderId); // 404 when not a participant
      throw new BadRequestException(['replyToId must be a message of this conversation']);
    }

    const message = toMessageView(sent.row);
    this.metrics.messagesCreated.inc();
    this.events.publish('message.created', {
      recipients: sent.memberIds,
      conversationId,
      message,
      previousCreatedAt: sent.previousCreatedAt?.toISOString() ?? null,
    });
    return { message, created: true };
  }

  /** A page of history in ascending seq: the latest, before a seq, after a seq, or between both. */
  async list(
    viewerId: string,
    conversationId: string,
    page: { limit?: number; before?: number; after?: number },
  ): Promise<MessagePage> {
    await this.conversations.membership(conversationId, viewerId);
    const limit = page.limit ?? MESSAGE_PAGE_DEFAULT;
    const ascending = page.after !== undefined;
    const rows = await queryRows<MessageRow>(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m
        WHERE m.conversation_id = $1
          AND ($2::int IS NULL OR m.seq > $2) AND ($3::int IS NULL OR m.seq < $3)
        ORDER BY m.seq ${ascending ? 'ASC' : 'DESC'} LIMIT $4`,
      [conversationId, page.after ?? null, page.before ?? null, limit + 1],
    );
    const hasMore = rows.length > limit;
    const items = rows.slice(0, limit);
    if (!ascending) items.reverse();
    return { items: await this.summaries.withReactions(items), hasMore };
  }

  /** The sender edits within EDIT_WINDOW_MS; an unchanged content is not an edit. */
  async edit(userId: string, messageId: string, content: string): Promise<MessageView> {
    const { row, ageMs } = await this.accessible(messageId, userId);
    if (row.sender_id !== userId) throw new ForbiddenException('Only the sender can edit a message');
    if (row.deleted_at) throw new ForbiddenException('The message was deleted');
    if (ageMs > this.editWindowMs) throw new ForbiddenException('The edit window of this message is over');
    this.assertContent(content);
    if (content === row.content) return (await this.summaries.withReactions([row]))[0];

    const updated = await queryRows<MessageRow>(
      this.dataSource,
      `UPDATE messages SET content = $2, edited_at = clock_timestamp() WHERE id = $1 AND deleted_at IS NULL RETURNING ${RETURNING}`,
      [messageId, content],
    );
    if (!updated.length) throw new ForbiddenException('The message was deleted');
    const [message] = await this.summaries.withReactions(updated);
    this.events.publish('message.updated', {
      recipients: await this.conversations.memberIds(row.conversation_id),
      conversationId: row.conversation_id,
      message,
    });
    return message;
  }

  /** Soft delete by the sender or a group's owner: content and reactions go, the seq stays. Idempotent. */
  async delete(userId: string, messageId: string): Promise<void> {
    const { row, membership } = await this.accessible(messageId, userId);
    const isGroupOwner = membership.type === 'group' && membership.role === 'owner';
    if (row.sender_id !== userId && !isGroupOwner)
      throw new ForbiddenException('Only the sender or the group owner can delete a message');
    if (row.deleted_at) return;

    const deleted = await this.dataSource.transaction(async (manager) => {
      const rows = await queryRows<{ seq: number }>(
        manager,
        `UPDATE messages SET content = NULL, deleted_at = clock_timestamp(), deleted_by = $2
          WHERE id = $1 AND deleted_at IS NULL RETURNING seq`,
        [messageId, userId],
      );
      if (rows.length) await queryRows(manager, 'DELETE FROM message_reactions WHERE message_id = $1', [messageId]);
      return rows.length > 0;
    });
    if (!deleted) return;
    this.events.publish('message.deleted', {
      recipients: await this.conversations.memberIds(row.conversation_id),
      conversationId: row.conversation_id,
      messageId,
      seq: row.seq,
    });
  }

  /** The message and the caller's membership of its conversation; 404 for outsiders, as for unknown ids. */
  async accessible(
    messageId: string,
    userId: string,
  ): Promise<{ row: MessageRow; ageMs: number; membership: Membership }> {
    const [found] = await queryRows<MessageRow & { age_ms: string }>(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS}, (extract(epoch FROM clock_timestamp() - m.created_at) * 1000)::bigint AS age_ms
         FROM messages m WHERE m.id = $1`,
      [messageId],
    );
    if (!found) throw new NotFoundException(MESSAGE_NOT_FOUND);
    const membership = await this.conversations.membership(found.conversation_id, userId).catch((error: unknown) => {
      // An outsider gets the message's 404, not the conversation's; any other failure stays what it is.
      throw error instanceof NotFoundException ? new NotFoundException(MESSAGE_NOT_FOUND) : error;
    });
    const { age_ms, ...row } = found;
    return { row, ageMs: Number(age_ms), membership };
  }

  /** Content rules of contract §5: 1 to MESSAGE_MAX_LENGTH characters (code points) after trimming. */
  private assertContent(content: string): void {
    const length = [...content.trim()].length;
    if (length < 1 || length > this.maxLength) {
      throw new BadRequestException([`content must be 1 to ${this.maxLength} characters after trimming`]);
    }
  }

  private async earlierSend(
    senderId: string,
    conversationId: string,
    input: SendMessageInput,
  ): Promise<{ message: MessageView; created: boolean }> {
    const [row] = await queryRows<MessageRow>(
      this.dataSource,
      `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = $1 AND m.client_message_id = $2`,
      [senderId, input.clientMessageId],
    );
    const same =
      row &&
      row.conversation_id === conversationId &&
      row.reply_to_id === (input.replyToId ?? null) &&
      (row.deleted_at !== null || row.content === input.content);
    if (!same) throw new ConflictException('clientMessageId was already used for a different message');
    const [message] = await this.summaries.withReactions([row]);
    return { message, created: false };
  }
}
