import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, MaxLength, Min } from 'class-validator';
import { MAX_SEQ, ToLowerCase } from '../../common/validation';
import { CLIENT_MESSAGE_ID } from '../../messages/dto/send-message.dto';

export class AuthDto {
  @IsString()
  @Length(1, 4096)
  token: string;
}

export class TypingDto {
  @ToLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsBoolean()
  isTyping: boolean;
}

export class SeqMarkerDto {
  @ToLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  seq: number;
}

export class SendMessageFrameDto {
  @ToLowerCase()
  @IsUUID('all')
  conversationId: string;

  @IsString()
  @MaxLength(65_536 * 2)
  content: string;

  @Matches(CLIENT_MESSAGE_ID, { message: 'clientMessageId must be 1-64 characters of A-Z, a-z, 0-9, ., _, : and -' })
  clientMessageId: string;

  @IsOptional()
  @ToLowerCase()
  @IsUUID('all')
  replyToId?: string;
}
