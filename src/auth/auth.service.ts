import { Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AuthConfig } from './auth.config';
import { RateLimit, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { RateLimitedException } from '../rate-limit/rate-limited.exception';
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
  private readonly loginFailures: RateLimit;

  constructor(
    private readonly users: UsersService,
    private readonly passwords: PasswordHasher,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokenService,
    private readonly limiter: RateLimiterService,
    config: ConfigService<AuthConfig, true>,
  ) {
    this.loginFailures = {
      limit: config.get('RATE_LOGIN_FAILS', { infer: true }),
      windowMs: config.get('RATE_LOGIN_WINDOW_MS', { infer: true }),
    };
  }

  async register(input: RegisterDto): Promise<AuthResponseDto> {
    const user = await this.users.create({
      username: input.username,
      displayName: input.displayName ?? input.username,
      passwordHash: await this.passwords.hash(input.password),
    });
    return this.startSession(user);
  }

  /**
   * Same 401 for an unknown user and a wrong password. Every attempt takes a
   * token of the per username+IP failure budget before the (slow) password check,
   * so parallel guesses cannot overtake the count; a success gives it back whole.
   */
  async login(input: LoginDto, ip: string): Promise<AuthResponseDto> {
    const failureKey = `login-fail:${input.username}|${ip}`;
    const gate = this.limiter.consume(failureKey, this.loginFailures);
    if (!gate.allowed) throw new RateLimitedException(gate.retryAfterMs, 'Too many failed logins, retry later');

    const user = await this.users.findWithPasswordHash(input.username);
    if (!(await this.passwords.verify(user?.passwordHash, input.password)) || !user) {
      throw new UnauthorizedException(BAD_CREDENTIALS);
    }
    this.limiter.reset(failureKey);
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
