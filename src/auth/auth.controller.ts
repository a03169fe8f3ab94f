import { Body, Controller, HttpCode, HttpStatus, Ip, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import { LimitedBy } from '../rate-limit/rate-limit.decorator';
import { AuthService } from './auth.service';
import { AuthResponseDto } from './dto/auth-response.dto';
import { LoginDto } from './dto/login.dto';
import { RefreshTokenDto } from './dto/refresh-token.dto';
import { RegisterDto } from './dto/register.dto';
import { Public } from '../common/decorators/public.decorator';
import { ApiErrors } from '../common/decorators/api-errors.decorator';

@ApiTags('auth')
@ApiErrors(400, 429, 503)
@Public()
@Controller('auth')
export class AuthController {
  constructor(private readonly auth: AuthService) {}

  @Post('register')
  @LimitedBy('register')
  @SkipThrottle({ rest: true })
  @ApiOperation({ summary: 'Create an account and start a session' })
  @ApiCreatedResponse({ type: AuthResponseDto })
  @ApiErrors({
    409: 'Username is taken',
    429: 'More than RATE_REGISTER_PER_MIN registrations a minute from this IP; retry after Retry-After',
  })
  register(@Body() body: RegisterDto): Promise<AuthResponseDto> {
    return this.auth.register(body);
  }

  @Post('login')
  // Every attempt counts before the password check (parallel guesses cannot overtake the count); AuthService forgives a success.
  @LimitedBy('login')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Start a session' })
  @ApiOkResponse({ type: AuthResponseDto })
  @ApiErrors({
    401: 'Unknown user or wrong password (same answer for both)',
    429:
      'RATE_LOGIN_FAILS failed logins for this username and IP within RATE_LOGIN_WINDOW_MS, or more than ' +
      'RATE_REST_PER_MIN calls a minute from this IP; retry after Retry-After',
  })
  login(@Body() body: LoginDto, @Ip() ip: string): Promise<AuthResponseDto> {
    return this.auth.login(body, ip);
  }

  @Post('refresh')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Exchange a refresh token for a new pair; the presented one dies' })
  @ApiOkResponse({ type: AuthResponseDto })
  @ApiErrors({ 401: 'Unknown, expired or already used refresh token (reuse ends the session)' })
  refresh(@Body() body: RefreshTokenDto): Promise<AuthResponseDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: "End the refresh token's session (idempotent)" })
  @ApiNoContentResponse({ description: 'The session is over (or was already)' })
  logout(@Body() body: RefreshTokenDto): Promise<void> {
    return this.auth.logout(body.refreshToken);
  }
}
