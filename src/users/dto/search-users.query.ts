import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { ToAsciiLowerCase } from '../../common/validation';

export class SearchUsersQuery {
  @ApiProperty({
    description: 'Username prefix, 1-32 of a-z 0-9 _ . (A-Z are folded to a-z; no other character is folded)',
    pattern: '^[A-Za-z0-9_.]{1,32}$',
    example: 'al',
  })
  @ToAsciiLowerCase()
  @IsString()
  @Matches(/^[a-z0-9_.]{1,32}$/, { message: 'query must be 1-32 characters of a-z, 0-9, _ and .' })
  query: string;
}
