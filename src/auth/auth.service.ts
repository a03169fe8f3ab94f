import { Injectable, UnauthorizedException } from '@nestjs/common';
import { loginTracker } from '../rate-limit/rate-limit.policies';
import { RateLimitsService } from '../rate-limit/rate-limits.service';
import { UserDto } from '../users/dto/user.dto';
import type { User } from '../users/entities/user.entity';
import { UsersService } from '../users/users.service';
import { AccessTokenService } from './access-token.service';
import type { AuthResponseDto } from './dto/auth-response.dto';
import type { LoginDto } from './dto/login.dto';
import type { RegisterDto } from './dto/register.dto';
import { PasswordHasher } from './password-hasher.service';
import { RefreshTokenService } from './refresh-token.service';

const BAD_CREDENTIALS = 'Invalid username or password';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokenService,
    private readonly limits: RateLimitsService,
  ) {}

  async register(input: RegisterDto): Promise<AuthResponseDto> {
    const user = await this.users.create({
      username: input.username,
      displayName: input.displayName ?? input.username,
      passwordHash: await this.passwords.hash(input.password),
    });
    return this.startSession(user);
  }

  /**
   * Same 401 for an unknown user and a wrong password. The `login` throttler has
   * counted this attempt against the username+IP failure budget before the (slow)
   * password check; a success forgives the count whole.
   */
  async login(input: LoginDto, ip: string): Promise<AuthResponseDto> {
    const user = await this.users.findWithPasswordHash(input.username);
    if (!(await this.passwords.verify(user?.passwordHash, input.password)) || !user) {
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }
    await this.limits.forgive('login', loginTracker(input.username, ip));
    return this.startSession(user);
  }

  async refresh(refreshToken: string): Promise<AuthResponseDto> {
    const rotated = await this.refreshTokens.rotate(refreshToken);
    const user = await this.users.findById(rotated.userId);
    if (!user) throw new UnauthorizedException('Invalid or expired refresh token');
    return { user: UserDto.fromEntity(user), refreshToken: rotated.refreshToken, ...this.accessTokens.sign(user.id) };
  }

  logout(refreshToken: string): Promise<void> {
    return this.refreshTokens.revokeSessionOf(refreshToken);
  }

  private async startSession(user: User): Promise<AuthResponseDto> {
    const refreshToken = await this.refreshTokens.issue(user.id);
    return { user: UserDto.fromEntity(user), refreshToken, ...this.accessTokens.sign(user.id) };
  }
}
