import { ApiExtraModels, ApiProperty, getSchemaPath, type SchemaObject } from '@nestjs/swagger';
import { MessageDto } from '../../messages/dto/message.dto';
import type { PresenceState } from '../../presence/presence.service';
import type { ConversationView } from '../../contracts/views';

export class ParticipantDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty()
  username: string;

  @ApiProperty()
  displayName: string;

  @ApiProperty({ enum: ['owner', 'admin', 'member'] })
  role: 'owner' | 'admin' | 'member';

  @ApiProperty({ description: 'At least one socket open (from Presence)' })
  online: boolean;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  lastSeenAt: string | null;

  @ApiProperty({ type: 'integer', minimum: 0, description: "The participant's read marker" })
  lastReadSeq: number;
}

/**
 * `lastMessage` is a MessageDto or null. In OpenAPI 3.0 `nullable` counts only next to a `type`,
 * so `{nullable, allOf: [MessageDto]}` (what `{type: MessageDto, nullable: true}` emits) rejects
 * null: the null is an alternative of its own, `{type: object, nullable, enum: [null]}` being
 * 3.0's spelling of JSON Schema's `{type: null}`.
 */
const MESSAGE_OR_NULL: Pick<SchemaObject, 'oneOf'> = {
  oneOf: [{ $ref: getSchemaPath(MessageDto) }, { type: 'object', nullable: true, enum: [null] }],
};

@ApiExtraModels(MessageDto)
export class ConversationDto {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ enum: ['direct', 'group'] })
  type: 'direct' | 'group';

  @ApiProperty({ type: String, nullable: true, description: 'Groups only' })
  title: string | null;

  @ApiProperty({ type: [ParticipantDto] })
  participants: ParticipantDto[];

  @ApiProperty({ ...MESSAGE_OR_NULL, description: 'The newest message (deleted ones included); null: none yet' })
  lastMessage: MessageDto | null;

  @ApiProperty({ type: 'integer', minimum: 0, description: 'The seq of the newest message (0: none yet)' })
  lastSeq: number;

  @ApiProperty({ type: 'integer', minimum: 0, description: "Messages of others after the caller's read marker" })
  unreadCount: number;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  @ApiProperty({ format: 'date-time', description: 'Last activity' })
  updatedAt: string;

  static fromView(view: ConversationView, viewerId: string, presence: Map<string, PresenceState>): ConversationDto {
    return {
      id: view.id,
      type: view.type,
      title: view.title,
      participants: view.participants.map((p) => {
        const state = presence.get(p.id);
        return {
          id: p.id,
          username: p.username,
          displayName: p.displayName,
          role: p.role,
          online: state?.online ?? false,
          lastSeenAt: state?.lastSeenAt?.toISOString() ?? p.lastSeenAt,
          lastReadSeq: p.lastReadSeq,
        };
      }),
      lastMessage: view.lastMessage ? MessageDto.fromView(view.lastMessage, viewerId) : null,
      lastSeq: view.lastSeq,
      unreadCount: view.unreadCounts[viewerId] ?? 0,
      createdAt: view.createdAt,
      updatedAt: view.updatedAt,
    };
  }
}

export class ConversationPageDto {
  @ApiProperty({ type: [ConversationDto], description: 'Most recent activity first' })
  items: ConversationDto[];

  @ApiProperty({ type: String, nullable: true, description: 'Pass as `cursor` for the next page; null at the end' })
  nextCursor: string | null;
}

export class UnreadConversationDto {
  @ApiProperty({ format: 'uuid' })
  conversationId: string;

  @ApiProperty({ type: 'integer', minimum: 1 })
  unreadCount: number;
}

export class UnreadDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'The sum over the conversations' })
  total: number;

  @ApiProperty({ type: [UnreadConversationDto], description: 'Conversations with at least one unread message' })
  conversations: UnreadConversationDto[];
}

export class ReadMarkerDto {
  @ApiProperty({ type: 'integer', minimum: 0, description: 'The marker afterwards (it never moves back)' })
  lastReadSeq: number;
}
