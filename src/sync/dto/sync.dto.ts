import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ToInt } from '../../common/validation';
import { ConversationDto } from '../../conversations/dto/conversation.dto';

export const SYNC_PAGE_DEFAULT = 500;
export const SYNC_PAGE_MAX = 1000;

export class SyncQuery {
  @ApiPropertyOptional({
    description: 'The token of the last sync (or of its last page). Absent: a bootstrap',
    maxLength: 8192,
  })
  @IsOptional()
  @IsString()
  @MaxLength(8_192)
  since?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: SYNC_PAGE_MAX, default: SYNC_PAGE_DEFAULT })
  @IsOptional()
  @ToInt()
  @IsInt()
  @Min(1)
  @Max(SYNC_PAGE_MAX)
  limit?: number;
}

export class SyncChangeDto {
  @ApiProperty({ format: 'uuid' })
  conversationId: string;

  @ApiProperty({
    type: 'integer',
    minimum: 1,
    description: "The change's position in its conversation: ascending, in commit order",
  })
  pos: number;

  @ApiProperty({
    enum: [
      'message.created',
      'message.updated',
      'message.deleted',
      'reaction.updated',
      'message.read',
      'message.delivered',
      'conversation.created',
      'conversation.updated',
    ],
    description: "The WebSocket event it corresponds to; `data` is that event's payload",
  })
  event: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description:
      "The event's payload as the WebSocket pushes it, with the current state of what it names " +
      '(the message, its reactions, the conversation). A conversation.updated whose participants no ' +
      'longer include the caller is its removal: drop the conversation',
  })
  data: Record<string, unknown>;
}

export class SyncPageDto {
  @ApiProperty({
    type: [SyncChangeDto],
    description: 'Per conversation in commit order (conversations one after another)',
  })
  changes: SyncChangeDto[];

  @ApiProperty({ description: 'Keep it, and pass it as `since` next time (after each page)' })
  token: string;

  @ApiProperty({ description: 'More changes are waiting: call again with `token` at once' })
  hasMore: boolean;
}

export class SyncBootstrapDto {
  @ApiProperty({
    type: 'array',
    items: { $ref: getSchemaPath(ConversationDto) },
    description: "All the caller's conversations, most recent activity first, as of `token`",
  })
  conversations: ConversationDto[];

  @ApiProperty({ description: 'Pass it as `since` for the changes after this state' })
  token: string;

  @ApiProperty({ enum: [false] })
  hasMore: false;
}
