import { BadRequestException, ForbiddenException, Injectable } from '@nestjs/common';
import { ConversationsService } from '../conversations/conversations.service';
import type { ChangeMark } from '../database/change-mark';
import { EventBus } from '../events/event-bus';
import { normalizeEmoji } from './emoji';
import { MessageSummariesService } from './message-summaries.service';
import type { ReactionView } from '../contracts/views';
import { MessageRepository } from './message.repository';
import { MessagesService } from './messages.service';

export interface MessageReactions {
  conversationId: string;
  messageId: string;
  reactions: ReactionView[];
}

/** One reaction per (message, user, emoji); adding twice or removing an absent one changes nothing and emits nothing. */
@Injectable()
export class ReactionsService {
  constructor(
    private readonly repository: MessageRepository,
    private readonly messages: MessagesService,
    private readonly conversations: ConversationsService,
    private readonly summaries: MessageSummariesService,
    private readonly events: EventBus,
  ) {}

  add(userId: string, messageId: string, emoji: string): Promise<MessageReactions> {
    return this.change(userId, messageId, emoji, (e) => this.repository.addReaction(messageId, userId, e));
  }

  remove(userId: string, messageId: string, emoji: string): Promise<MessageReactions> {
    return this.change(userId, messageId, emoji, (e) => this.repository.removeReaction(messageId, userId, e));
  }

  private async change(
    userId: string,
    messageId: string,
    rawEmoji: string,
    apply: (emoji: string) => Promise<ChangeMark | undefined>,
  ): Promise<MessageReactions> {
    const emoji = normalizeEmoji(rawEmoji);
    if (!emoji) throw new BadRequestException(['emoji must be exactly one emoji']);
    const { row } = await this.messages.requireAccessibleMessage(messageId, userId);
    if (row.deleted_at) throw new ForbiddenException('The message was deleted');

    const change = await apply(emoji);
    const reactions = (await this.summaries.reactionsByMessage([messageId])).get(messageId) ?? [];
    const result = { conversationId: row.conversation_id, messageId, reactions };
    if (change) {
      this.events.publish('reaction.updated', {
        recipients: await this.conversations.memberIds(row.conversation_id),
        change,
        ...result,
      });
    }
    return result;
  }
}
