import { ApiProperty } from '@nestjs/swagger';
import { UserDto } from '../../users/dto/user.dto';

export class AuthResponseDto {
  @ApiProperty({ type: UserDto })
  user: UserDto;

  @ApiProperty({ description: 'JWT (HS256) for `Authorization: Bearer`; `sub` is the user id' })
  accessToken: string;

  @ApiProperty({ description: 'Opaque, single use: each refresh returns the next one' })
  refreshToken: string;

  @ApiProperty({ type: 'integer', example: 900, description: 'Lifetime of the access token in seconds' })
  expiresIn: number;
}
