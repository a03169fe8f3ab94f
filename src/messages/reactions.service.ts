import { BadRequestException, ForbiddenException, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { ConversationsService } from '../conversations/conversations.service';
import { EventBus } from '../events/event-bus';
import { normalizeEmoji } from './emoji';
import { MessageSummariesService } from './message-summaries.service';
import type { ReactionView } from './message-view';
import { MessagesService } from './messages.service';
import { queryRows } from '../database/sql';

export interface MessageReactions {
  conversationId: string;
  messageId: string;
  reactions: ReactionView[];
}

/** One reaction per (message, user, emoji); adding twice or removing an absent one changes nothing and emits nothing. */
@Injectable()
export class ReactionsService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly messages: MessagesService,
    private readonly conversations: ConversationsService,
    private readonly summaries: MessageSummariesService,
    private readonly events: EventBus,
  ) {}

  add(userId: string, messageId: string, emoji: string): Promise<MessageReactions> {
    return this.change(
      userId,
      messageId,
      emoji,
      `INSERT INTO message_reactions (message_id, user_id, emoji) VALUES ($1, $2, $3)
       ON CONFLICT DO NOTHING RETURNING 1`,
    );
  }

  remove(userId: string, messageId: string, emoji: string): Promise<MessageReactions> {
    return this.change(
      userId,
      messageId,
      emoji,
      'DELETE FROM message_reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3 RETURNING 1',
    );
  }

  private async change(userId: string, messageId: string, rawEmoji: string, sql: string): Promise<MessageReactions> {
    const emoji = normalizeEmoji(rawEmoji);
    if (!emoji) throw new BadRequestException(['emoji must be exactly one emoji']);
    const { row } = await this.messages.accessible(messageId, userId);
    if (row.deleted_at) throw new ForbiddenException('The message was deleted');

    const changed = (await queryRows(this.dataSource, sql, [messageId, userId, emoji])).length > 0;
    const reactions = (await this.summaries.reactionsByMessage([messageId])).get(messageId) ?? [];
    const result = { conversationId: row.conversation_id, messageId, reactions };
    if (changed) {
      this.events.publish('reaction.updated', {
        recipients: await this.conversations.memberIds(row.conversation_id),
        ...result,
      });
    }
    return result;
  }
}
