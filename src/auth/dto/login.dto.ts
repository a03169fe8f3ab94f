import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length, Matches } from 'class-validator';
import { ToAsciiLowerCase } from '../../common/validation';
import { USERNAME_MESSAGE, USERNAME_PATTERN } from './register.dto';

export class LoginDto {
  @ApiProperty({
    example: 'alice',
    pattern: '^[A-Za-z0-9_.]{3,32}$',
    description: 'As registered; A-Z are folded to a-z. A name no account can have is a 400.',
  })
  @ToAsciiLowerCase()
  @IsString()
  @Matches(USERNAME_PATTERN, { message: USERNAME_MESSAGE })
  username: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 1024)
  password: string;
}
