import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { ToAsciiLowerCase } from '../../common/validation';

export const CLIENT_MESSAGE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

export class SendMessageDto {
  @ApiProperty({ description: '1 to MESSAGE_MAX_LENGTH (default 4000) characters after trimming; stored as sent' })
  @IsString()
  @MaxLength(65_536 * 2)
  content: string;

  @ApiPropertyOptional({
    example: '7f0c2a1e-retry-safe',
    description: 'Idempotency key chosen by the client (1-64 of A-Z a-z 0-9 . _ : -): a retry returns the same message',
  })
  @IsOptional()
  @Matches(CLIENT_MESSAGE_ID, { message: 'clientMessageId must be 1-64 characters of A-Z, a-z, 0-9, ., _, : and -' })
  clientMessageId?: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'A message of the same conversation' })
  @IsOptional()
  @ToAsciiLowerCase()
  @IsUUID('all', { message: 'replyToId must be a message id (UUID)' })
  replyToId?: string;
}

export class EditMessageDto {
  @ApiProperty({ description: '1 to MESSAGE_MAX_LENGTH characters after trimming' })
  @IsString()
  @MaxLength(65_536 * 2)
  content: string;
}
