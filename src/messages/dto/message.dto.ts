import { ApiProperty } from '@nestjs/swagger';
import type { MessageView, ReactionView } from '../../contracts/views';

export class ReactionDto {
  @ApiProperty({ example: '👍' })
  emoji: string;

  @ApiProperty({ type: 'integer', minimum: 1, example: 2 })
  count: number;

  @ApiProperty({ description: 'Whether the caller is one of those who reacted' })
  me: boolean;

  static fromViews(reactions: ReactionView[], viewerId: string): ReactionDto[] {
    return reactions.map(({ emoji, count, userIds }) => ({ emoji, count, me: userIds.includes(viewerId) }));
  }
}

export class MessageDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ format: 'uuid' })
  conversationId: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    example: 7,
    description: 'Per conversation: starts at 1, strictly increasing, gapless',
  })
  seq: number;

  @ApiProperty({ format: 'uuid' })
  senderId: string;

  @ApiProperty({ type: String, nullable: true, description: 'As sent (never HTML); null once deleted' })
  content: string | null;

  @ApiProperty({ type: String, nullable: true })
  clientMessageId: string | null;

  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  replyToId: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  editedAt: string | null;

  @ApiProperty({ description: 'Soft deleted: content is null, reactions empty, seq kept' })
  deleted: boolean;

  @ApiProperty({ type: [ReactionDto] })
  reactions: ReactionDto[];

  static fromView(view: MessageView, viewerId: string): MessageDto {
    return { ...view, reactions: ReactionDto.fromViews(view.reactions, viewerId) };
  }
}

export class MessagePageDto {
  @ApiProperty({ type: [MessageDto], description: 'Ascending seq' })
  items: MessageDto[];

  @ApiProperty({ description: 'More messages exist beyond this page in the direction paged' })
  hasMore: boolean;
}

export class MessageReactionsDto {
  @ApiProperty({ format: 'uuid' })
  conversationId: string;

  @ApiProperty({ format: 'uuid' })
  messageId: string;

  @ApiProperty({ type: [ReactionDto] })
  reactions: ReactionDto[];
}
