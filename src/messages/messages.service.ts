import {
  BadRequestException,
  ConflictException,
  ForbiddenException,
  Injectable,
  NotFoundException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { MessagesConfig } from './messages.config';
import { ConversationsService, type Membership } from '../conversations/conversations.service';
import { databaseError } from '../database/sql';
import { EventBus } from '../events/event-bus';
import { MetricsService } from '../metrics/metrics.service';
import { MessageRepository } from './message.repository';
import { MessageSummariesService } from './message-summaries.service';
import { toMessageView, type MessageRow } from './message-view';
import type { MessageView } from '../contracts/views';
import { Batcher, type ItemOutcome } from '../common/batcher';
import { userTracker } from '../rate-limit/rate-limit.policies';
import { RateLimitsService, type Budget } from '../rate-limit/rate-limits.service';
import { SendStatement, type SendItem, type Sent } from './send.statement';

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

/**
 * Send statements in flight at once; sends arriving meanwhile go together in the
 * next one. Two keep PostgreSQL busy while this process prepares the next batch;
 * more made smaller batches and cost more (measured with npm run bench: 2 gave
 * 2,701-2,806 msgs/s where 4 gave 2,157-2,428, interleaved runs).
 */
const SEND_STATEMENTS_IN_FLIGHT = 2;
const SEND_BATCH_MAX = 64;

const CLIENT_MESSAGE_ID_INDEX = 'UQ_messages_sender_client_message_id';

const UNIQUE_VIOLATION = '23505';

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const driverError = databaseError(error);
  return driverError?.code === UNIQUE_VIOLATION && driverError.constraint === constraint;
}

@Injectable()
export class MessagesService {
  private readonly maxLength: number;
  private readonly editWindowMs: number;

  /** Sends share statements and limit counts under load (group commit); see storeBatch. */
  private readonly sends = new Batcher<SendItem, { sent: Sent; budget: Budget }>(
    (items) => this.storeBatch(items),
    SEND_STATEMENTS_IN_FLIGHT,
    SEND_BATCH_MAX,
  );

  constructor(
    private readonly repository: MessageRepository,
    private readonly sendStatement: SendStatement,
    private readonly conversations: ConversationsService,
    private readonly summaries: MessageSummariesService,
    private readonly events: EventBus,
    private readonly metrics: MetricsService,
    private readonly limits: RateLimitsService,
    config: ConfigService<MessagesConfig, true>,
  ) {
    this.maxLength = config.get('MESSAGE_MAX_LENGTH', { infer: true });
    this.editWindowMs = config.get('EDIT_WINDOW_MS', { infer: true });
  }

  /**
   * The send limit (RATE_SEND_PER_SEC per sender) is counted with the batch, in one
   * Redis round trip for all of its senders, like its one statement: under load a
   * send costs neither a round trip nor a statement of its own. Refused sends get
   * their 429; the others are stored together.
   */
  private async storeBatch(items: SendItem[]): Promise<ItemOutcome<{ sent: Sent; budget: Budget }>[]> {
    const budgets = await this.limits.countEach(
      'send',
      items.map((item) => userTracker(item.senderId)),
    );
    const admitted = items.filter((_, i) => budgets[i].allowed);
    const stored = admitted.length ? await this.storeAdmitted(admitted) : [];
    let next = 0;
    return items.map((_, i) => {
      if (!budgets[i].allowed) return { ok: false, error: this.limits.refused('send', budgets[i].resetInMs) };
      const outcome = stored[next++];
      return outcome.ok ? { ok: true, value: { sent: outcome.value, budget: budgets[i] } } : outcome;
    });
  }

  /**
   * Stores sends in one statement. If a batch of several hits a unique index (a
   * clientMessageId already used, two retries of one message in the same batch),
   * every item is sent again on its own, so that each gets its own answer.
   */
  private async storeAdmitted(items: SendItem[]): Promise<ItemOutcome<Sent>[]> {
    try {
      return (await this.sendStatement.store(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (items.length === 1 || databaseError(error)?.code !== UNIQUE_VIOLATION) {
        return items.map(() => ({ ok: false, error }));
      }
      return Promise.all(
        items.map((item) =>
          this.sendStatement.store([item]).then(
            ([value]) => ({ ok: true as const, value }),
            (itemError: unknown) => ({ ok: false as const, error: itemError }),
          ),
        ),
      );
    }
  }

  /**
   * Sends a message: `created` is false when the same sender already sent this
   * clientMessageId with the same content (a retry): the original comes back, no
   * second row, no second event, no seq used. The REST call and the socket's
   * `message.send` both come here, and share the per-user send limit: `budget` is
   * what is left of it (absent for a retry answered with the original).
   */
  async send(
    senderId: string,
    conversationId: string,
    input: SendMessageInput,
  ): Promise<{ message: MessageView; created: boolean; budget?: Budget }> {
    this.assertContent(input.content);
    let sent: Sent;
    let budget: Budget;
    try {
      ({ sent, budget } = await this.sends.submit({
        senderId,
        conversationId,
        content: input.content,
        clientMessageId: input.clientMessageId ?? null,
        replyToId: input.replyToId ?? null,
      }));
    } catch (error) {
      // The unique (sender, clientMessageId) index refused it: a retry. The statement
      // rolled back whole, its seq included.
      if (isUniqueViolation(error, CLIENT_MESSAGE_ID_INDEX)) return this.earlierSend(senderId, conversationId, input);
      throw error;
    }
    if (!sent) {
      await this.conversations.requireMembership(conversationId, senderId); // 404 when not a participant
      throw new BadRequestException(['replyToId must be a message of this conversation']);
    }

    const message = toMessageView(sent.row);
    this.metrics.messagesCreated.inc();
    this.events.publish('message.created', {
      recipients: sent.memberIds,
      change: sent.change,
      conversationId,
      message,
      previousCreatedAt: sent.previousCreatedAt?.toISOString() ?? null,
    });
    return { message, created: true, budget };
  }

  /** A page of history in ascending seq: the latest, before a seq, after a seq, or between both. */
  async list(
    viewerId: string,
    conversationId: string,
    page: { limit?: number; before?: number; after?: number },
  ): Promise<MessagePage> {
    await this.conversations.requireMembership(conversationId, viewerId);
    const limit = page.limit ?? MESSAGE_PAGE_DEFAULT;
    const ascending = page.after !== undefined;
    const rows = await this.repository.page(conversationId, page, limit, ascending ? 'ASC' : 'DESC');
    const hasMore = rows.length > limit;
    const items = rows.slice(0, limit);
    if (!ascending) items.reverse();
    return { items: await this.summaries.withReactions(items), hasMore };
  }

  /** The sender edits within EDIT_WINDOW_MS; an unchanged content is not an edit. */
  async edit(userId: string, messageId: string, content: string): Promise<MessageView> {
    const { row, ageMs } = await this.requireAccessibleMessage(messageId, userId);
    if (row.sender_id !== userId) throw new ForbiddenException('Only the sender can edit a message');
    if (row.deleted_at) throw new ForbiddenException('The message was deleted');
    if (ageMs > this.editWindowMs) throw new ForbiddenException('The edit window of this message is over');
    this.assertContent(content);
    if (content === row.content) return (await this.summaries.withReactions([row]))[0];

    const updated = await this.repository.updateContent(messageId, content);
    if (!updated) throw new ForbiddenException('The message was deleted');
    const [message] = await this.summaries.withReactions([updated.row]);
    this.events.publish('message.updated', {
      recipients: await this.conversations.memberIds(row.conversation_id),
      change: updated.change,
      conversationId: row.conversation_id,
      message,
    });
    return message;
  }

  /** Soft delete by the sender or a group's owner: content and reactions go, the seq stays. Idempotent. */
  async delete(userId: string, messageId: string): Promise<void> {
    const { row, membership } = await this.requireAccessibleMessage(messageId, userId);
    const isGroupOwner = membership.type === 'group' && membership.role === 'owner';
    if (row.sender_id !== userId && !isGroupOwner)
      throw new ForbiddenException('Only the sender or the group owner can delete a message');
    if (row.deleted_at) return;

    const change = await this.repository.softDelete(messageId, userId);
    if (!change) return;
    this.events.publish('message.deleted', {
      recipients: await this.conversations.memberIds(row.conversation_id),
      change,
      conversationId: row.conversation_id,
      messageId,
      seq: row.seq,
    });
  }

  /**
   * The message and the caller's membership of its conversation. Throws 404 for an
   * unknown message and for one the caller does not take part in (existence is not
   * leaked); any other failure, a database outage included, stays what it is.
   */
  async requireAccessibleMessage(
    messageId: string,
    userId: string,
  ): Promise<{ row: MessageRow; ageMs: number; membership: Membership }> {
    const found = await this.repository.findWithAge(messageId);
    if (!found) throw new NotFoundException(MESSAGE_NOT_FOUND);
    const membership = await this.conversations
      .requireMembership(found.row.conversation_id, userId)
      .catch((error: unknown) => {
        // An outsider gets the message's 404, not the conversation's.
        throw error instanceof NotFoundException ? new NotFoundException(MESSAGE_NOT_FOUND) : error;
      });
    return { ...found, membership };
  }

  /** Content rules of docs/protocol.md §7: 1 to MESSAGE_MAX_LENGTH characters (code points) after trimming. */
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
    const row = await this.repository.findByClientMessageId(senderId, input.clientMessageId!);
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
