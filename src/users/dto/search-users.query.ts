import { ApiProperty } from '@nestjs/swagger';
import { IsString, Matches } from 'class-validator';
import { ToLowerCase } from '../../common/validation';

export class SearchUsersQuery {
  @ApiProperty({ description: 'Username prefix (case-insensitive), 1-32 of a-z 0-9 _ .', example: 'al' })
  @ToLowerCase()
  @IsString()
  @Matches(/^[a-z0-9_.]{1,32}$/, { message: 'query must be 1-32 characters of a-z, 0-9, _ and .' })
  query: string;
}
