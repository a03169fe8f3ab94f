import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { RequestWithAuth } from '../common/request-auth';
import { USER_GONE, UsersService } from '../users/users.service';
import { AccessTokenService, bearerToken } from './access-token.service';
import type { AuthUser } from '../common/decorators/current-user.decorator';
import { IS_PUBLIC_KEY } from '../common/decorators/public.decorator';

/**
 * Global: every HTTP route needs a valid access token of an existing user unless
 * marked @Public(). Whether the user exists is answered from memory (UsersService.exists).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokenService,
    private readonly users: UsersService,
  ) {}

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC_KEY, [context.getHandler(), context.getClass()])) {
      return true;
    }
    const request = context.switchToHttp().getRequest<RequestWithAuth & { user?: AuthUser }>();
    const token = bearerToken(request.headers.authorization);
    if (!token) throw new UnauthorizedException('Missing bearer access token');
    // Decoded once by the auth context middleware; verified again only to give the reason.
    const authenticated = request.auth ?? this.tokens.authenticateRequest(request);
    if (!authenticated) this.tokens.verify(token);
    const { userId } = authenticated!;
    const exists = this.users.exists(userId);
    const admit = (found: boolean) => {
      if (!found) throw new UnauthorizedException(USER_GONE);
      request.user = { id: userId };
      return true;
    };
    // Known users are answered at once; only an unknown one waits for the database.
    return typeof exists === 'boolean' ? admit(exists) : exists.then(admit);
  }
}
