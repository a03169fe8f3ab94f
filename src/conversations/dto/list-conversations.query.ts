import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { ToInt } from '../../common/validation';

export class ListConversationsQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @ToInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    description:
      'nextCursor of the previous page. Pages follow recent activity (newest first) by keyset: a ' +
      'conversation that gets activity while a client pages moves to the top, ahead of the cursor, and ' +
      'is not on a later page; one that was already listed is not listed twice. To stay exact, apply ' +
      'the `message.created` and `conversation.created`/`updated` pushes of the socket while paging (or ' +
      'page again from the first page after reconnecting).',
  })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}
