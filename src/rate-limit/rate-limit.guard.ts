import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import type { RequestWithAuth } from '../common/request-auth';
import type { RateLimitConfig } from './rate-limit.config';
import { RATE_POLICY_KEY, RestRatePolicy } from './rate-limit.decorator';
import { RateLimit, RateLimiterService } from './rate-limiter.service';
import { RateLimitedException } from './rate-limited.exception';

/**
 * The REST limits of contract §7. Runs before authentication so that a flood of
 * bad tokens is limited too; a valid bearer token (request.auth) makes the key the user.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly rules: Record<Exclude<RestRatePolicy, 'none'>, RateLimit>;

  constructor(
    private readonly reflector: Reflector,
    private readonly limiter: RateLimiterService,
    config: ConfigService<RateLimitConfig, true>,
  ) {
    this.rules = {
      rest: { limit: config.get('RATE_REST_PER_MIN', { infer: true }), windowMs: 60_000 },
      register: { limit: config.get('RATE_REGISTER_PER_MIN', { infer: true }), windowMs: 60_000 },
    };
  }

  canActivate(context: ExecutionContext): boolean {
    // Gateways limit their own frames; this guard is for HTTP only.
    if (context.getType() !== 'http') return true;
    const policy =
      this.reflector.getAllAndOverride<RestRatePolicy>(RATE_POLICY_KEY, [context.getHandler(), context.getClass()]) ??
      'rest';
    if (policy === 'none') return true;

    const request = context.switchToHttp().getRequest<RequestWithAuth & { ip?: string }>();
    const userId = policy === 'rest' ? request.auth?.userId : undefined;
    const key = `${policy}:${userId ? `user:${userId}` : `ip:${request.ip}`}`;
    const decision = this.limiter.consume(key, this.rules[policy]);
    if (!decision.allowed) throw new RateLimitedException(decision.retryAfterMs);
    return true;
  }
}
