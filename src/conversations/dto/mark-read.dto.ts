import { ApiProperty } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { MAX_SEQ } from '../../common/validation';

export class MarkReadDto {
  @ApiProperty({
    type: 'integer',
    minimum: 0,
    description: 'Read up to and including this seq (clamped to the last seq)',
  })
  @IsInt()
  @Min(0)
  @Max(MAX_SEQ)
  seq: number;
}
