import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Length, Matches } from 'class-validator';
import { SINGLE_LINE_TEXT, ToAsciiLowerCase, Trim } from '../../common/validation';

/** Docs/protocol.md §2, checked after only the ASCII letters are lower-cased (see asciiLowerCase). */
export const USERNAME_PATTERN = /^[a-z0-9_.]{3,32}$/;
export const USERNAME_MESSAGE = 'username must be 3-32 characters of a-z, 0-9, _ and . (A-Z are folded to a-z)';

export class RegisterDto {
  @ApiProperty({
    example: 'alice',
    pattern: '^[A-Za-z0-9_.]{3,32}$',
    description: '3-32 of a-z 0-9 _ . (A-Z are folded to a-z; no other character is folded); unique',
  })
  @ToAsciiLowerCase()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_MESSAGE })
  username: string;

  @ApiProperty({ example: 'correct horse battery staple', minLength: 8, maxLength: 128 })
  @IsString()
  @Length(8, 128, { message: 'password must be 8 to 128 characters' })
  password: string;

  @ApiPropertyOptional({ example: 'Alice Liddell', maxLength: 64, description: 'Defaults to the username' })
  @IsOptional()
  @Trim()
  @IsString()
  @Length(1, 64, { message: 'displayName must be 1 to 64 characters after trimming' })
  @Matches(SINGLE_LINE_TEXT, { message: 'displayName must not contain control characters' })
  displayName?: string;
}
