import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';
import { ToLowerCase } from '../../common/validation';

export class LoginDto {
  @ApiProperty({ example: 'alice' })
  @ToLowerCase()
  @IsString()
  @Length(1, 64)
  username: string;

  @ApiProperty({ example: 'correct horse battery staple' })
  @IsString()
  @Length(1, 1024)
  password: string;
}
