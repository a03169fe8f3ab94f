import { ApiProperty } from '@nestjs/swagger';
import { IsString, Length } from 'class-validator';

export class RefreshTokenDto {
  @ApiProperty({ description: 'The refresh token from the last register, login or refresh answer' })
  @IsString()
  @Length(1, 512)
  refreshToken: string;
}
