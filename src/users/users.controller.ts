import { Controller, Get, Query, UnauthorizedException } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { CurrentUser, type AuthUser } from '../common/decorators/current-user.decorator';
import { SearchUsersQuery } from './dto/search-users.query';
import { UserDto, UserListDto } from './dto/user.dto';
import { USER_GONE, UsersService } from './users.service';

@ApiTags('users')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('users')
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @Get('me')
  @ApiOperation({ summary: 'The caller' })
  @ApiOkResponse({ type: UserDto })
  async me(@CurrentUser() caller: AuthUser): Promise<UserDto> {
    const user = await this.users.findById(caller.id);
    // Gone since the guard asked (deleted in between).
    if (!user) throw new UnauthorizedException(USER_GONE);
    return UserDto.fromEntity(user);
  }

  @Get()
  @ApiOperation({ summary: 'Up to 20 users whose username starts with the query, by username' })
  @ApiOkResponse({ type: UserListDto })
  @ApiErrors({ 400: '`query` is missing or not 1-32 characters of a-z, 0-9, _ and .' })
  async search(@Query() { query }: SearchUsersQuery): Promise<UserListDto> {
    const users = await this.users.search(query);
    return { items: users.map((user) => UserDto.fromEntity(user)) };
  }
}
