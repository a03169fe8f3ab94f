import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerModuleOptions,
  type ThrottlerRequest,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { ServerResponse } from 'node:http';
import { limitedBy } from './rate-limit.decorator';
import type { LimitPolicy } from './rate-limit.policies';
import { RateLimitsService } from './rate-limits.service';

/**
 * The throttler's guard for the REST limits of contract §7, global, before
 * authentication (a flood of bad tokens is limited too). Gateways count their own
 * frames: on a socket's handlers this guard does nothing (STACK-NOTES: the stock
 * guard breaks them). A refusal is a 429 with Retry-After; every answer carries
 * X-RateLimit-Limit / -Remaining / -Reset of the route's own policy.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limits: RateLimitsService,
  ) {
    super(options, storage, reflector);
  }

  protected shouldSkip(context: ExecutionContext): Promise<boolean> {
    return Promise.resolve(context.getType() !== 'http');
  }

  protected async handleRequest({
    context,
    limit,
    ttl,
    throttler,
    getTracker,
    generateKey,
  }: ThrottlerRequest): Promise<boolean> {
    const { req, res } = this.getRequestResponse(context);
    const policy = throttler.name as LimitPolicy;
    const tracker = await getTracker(req, context);
    const { totalHits, timeToExpire } = await this.storageService.increment(
      generateKey(context, tracker, policy),
      ttl,
      limit,
      0,
      policy,
    );
    if (describes(context, policy)) {
      const response = res as ServerResponse;
      response.setHeader('X-RateLimit-Limit', limit);
      response.setHeader('X-RateLimit-Remaining', Math.max(0, limit - totalHits));
      response.setHeader('X-RateLimit-Reset', timeToExpire);
    }
    if (totalHits > limit) throw this.limits.refused(policy, timeToExpire * 1000);
    return true;
  }
}

/** The policy a route's headers describe: its own (register, send), else the general one; login counts failures only. */
function describes(context: ExecutionContext, policy: LimitPolicy): boolean {
  const own = limitedBy(context).filter((p) => p !== 'login');
  return own.length ? own.includes(policy as never) : policy === 'rest';
}
