import { ApiProperty } from '@nestjs/swagger';
import type { User } from '../entities/user.entity';

export class UserDto {
  @ApiProperty({ format: 'uuid', example: '5b0f7c1e-8a36-4c55-9d0e-0f6f3b1b8a11' })
  id: string;

  @ApiProperty({ example: 'alice', description: 'Lower-case, 3-32 of a-z 0-9 _ .' })
  username: string;

  @ApiProperty({ example: 'Alice Liddell' })
  displayName: string;

  @ApiProperty({ format: 'date-time' })
  createdAt: string;

  static fromEntity(user: User): UserDto {
    const dto = new UserDto();
    dto.id = user.id;
    dto.username = user.username;
    dto.displayName = user.displayName;
    dto.createdAt = user.createdAt.toISOString();
    return dto;
  }
}

export class UserListDto {
  @ApiProperty({ type: [UserDto] })
  items: UserDto[];
}
