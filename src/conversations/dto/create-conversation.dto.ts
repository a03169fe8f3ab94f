import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsString,
  IsUUID,
  Length,
  Matches,
  ValidateIf,
} from 'class-validator';
import { SINGLE_LINE_TEXT, ToAsciiLowerCase, ToAsciiLowerCaseEach, Trim } from '../../common/validation';

/** `{type:"direct", participantId}` or `{type:"group", title, participantIds}`. */
export class CreateConversationDto {
  @ApiProperty({ enum: ['direct', 'group'] })
  @IsIn(['direct', 'group'])
  type: 'direct' | 'group';

  @ApiPropertyOptional({ format: 'uuid', description: 'direct only: the other user' })
  @ValidateIf((o: CreateConversationDto) => o.type === 'direct' || o.participantId !== undefined)
  @ToAsciiLowerCase()
  @IsUUID('all', { message: 'participantId must be a user id (UUID)' })
  participantId?: string;

  @ApiPropertyOptional({ maxLength: 100, description: 'group only: 1-100 characters after trimming' })
  @ValidateIf((o: CreateConversationDto) => o.type === 'group' || o.title !== undefined)
  @Trim()
  @IsString()
  @Length(1, 100, { message: 'title must be 1 to 100 characters after trimming' })
  @Matches(SINGLE_LINE_TEXT, { message: 'title must not contain control characters' })
  title?: string;

  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'group only: the members besides the creator' })
  @ValidateIf((o: CreateConversationDto) => o.type === 'group' || o.participantIds !== undefined)
  @ToAsciiLowerCaseEach()
  @IsArray()
  @ArrayMaxSize(100_000)
  @ArrayUnique()
  @IsUUID('all', { each: true, message: 'participantIds must be user ids (UUIDs)' })
  participantIds?: string[];
}
