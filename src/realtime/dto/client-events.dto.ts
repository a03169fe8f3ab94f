import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_SEQ, ToAsciiLowerCase } from '../../common/validation';
import { CLIENT_MESSAGE_ID } from '../../messages/dto/send-message.dto';

export class AuthDto {
  @IsString()
  @Length(1, 4096)
  token: string;
}

export class TypingDto {
  @ToAsciiLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsBoolean()
  isTyping: boolean;
}

export class SeqMarkerDto {
  @ToAsciiLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  seq: number;
}

export class SendMessageFrameDto {
  @ToAsciiLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsString()
  @MaxLength(65_536 * 2)
  content: string;

  @Matches(CLIENT_MESSAGE_ID, { message: 'clientMessageId must be 1-64 characters of A-Z, a-z, 0-9, ., _, : and -' })
  clientMessageId: string;

  @IsOptional()
  @ToAsciiLowerCase()
  @IsUUID('all')
  replyToId?: string;
}

export class SyncFrameDto {
  /** A token from GET /api/v1/sync or from a `synced` frame. */
  @IsString()
  @Length(1, 8_192)
  since: string;
}
