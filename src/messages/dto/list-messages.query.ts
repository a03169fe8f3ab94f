import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { MAX_SEQ, ToInt } from '../../common/validation';

export class ListMessagesQuery {
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @ToInt()
  @IsInt()
  @Min(1)
  @Max(100)
  limit?: number;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description: 'Page backwards: the newest messages with seq < before',
  })
  @IsOptional()
  @ToInt()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  before?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, description: 'Catch up: the oldest messages with seq > after' })
  @IsOptional()
  @ToInt()
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  after?: number;
}
