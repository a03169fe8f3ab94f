import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  type ThrottlerGetTrackerFunction,
  type ThrottlerModuleOptions,
  type ThrottlerOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { ServerResponse } from 'node:http';
import { limitedBy } from './rate-limit.decorator';
import { limitKey, OPT_IN_POLICIES, type LimitPolicy } from './rate-limit.policies';
import { RateLimitsService } from './rate-limits.service';

/** @nestjs/throttler's metadata keys (its throttler.constants, which its index does not export). */
const SKIP = 'THROTTLER:SKIP';
const LIMIT = 'THROTTLER:LIMIT';
const TTL = 'THROTTLER:TTL';

/** One throttler that applies to a route, resolved once for that route. */
interface Step {
  policy: LimitPolicy;
  limit: number;
  ttl: number;
  getTracker: ThrottlerGetTrackerFunction;
  /** Whether the X-RateLimit-* headers describe this one. */
  describes: boolean;
}

/**
 * The throttler's guard for the REST limits of docs/protocol.md §4, global, before
 * authentication (a flood of bad tokens is limited too). Which throttlers apply
 * to a route (@SkipThrottle, @Throttle, @LimitedBy) never changes, so it is read
 * once per route rather than with a dozen reflections per request; a request
 * costs its trackers and one count per throttler. Gateways count their own frames:
 * on a socket's handlers this guard does nothing (the stock guard breaks them).
 * A refusal is a 429 with Retry-After; every answer carries X-RateLimit-Limit /
 * -Remaining / -Reset of the route's own policy.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly plans = new WeakMap<object, Step[]>();

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly limits: RateLimitsService,
  ) {
    super(options, storage, reflector);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const handler = context.getHandler();
    let plan = this.plans.get(handler);
    if (!plan) this.plans.set(handler, (plan = this.planOf(context)));
    if (!plan.length) return true;
    const { req, res } = this.getRequestResponse(context);
    for (const step of plan) {
      const key = limitKey(step.policy, await step.getTracker(req, context));
      const { totalHits, timeToExpire } = await this.storageService.increment(
        key,
        step.ttl,
        step.limit,
        0,
        step.policy,
      );
      if (step.describes) {
        const response = res as ServerResponse;
        response.setHeader('X-RateLimit-Limit', step.limit);
        response.setHeader('X-RateLimit-Remaining', Math.max(0, step.limit - totalHits));
        response.setHeader('X-RateLimit-Reset', timeToExpire);
      }
      // Later throttlers are not counted for a refused call.
      if (totalHits > step.limit) throw this.limits.refused(step.policy, timeToExpire * 1000);
    }
    return true;
  }

  /**
   * The throttlers of a route: `rest` unless skipped, the opt-in ones it names with
   * @LimitedBy; a route's @Throttle({ name: { limit, ttl } }) overrides their numbers.
   * The headers describe its own policy (register, send), else `rest`: `login` counts failures.
   */
  private planOf(context: ExecutionContext): Step[] {
    const targets = [context.getHandler(), context.getClass()];
    const optedIn = limitedBy(context);
    const own = optedIn.filter((policy) => policy !== 'login');
    const throttlers = this.throttlers as (ThrottlerOptions & { name: LimitPolicy })[];
    return throttlers
      .filter(({ name }) => {
        const optIn = (OPT_IN_POLICIES as readonly string[]).includes(name);
        if (optIn && !optedIn.includes(name as never)) return false;
        return !this.reflector.getAllAndOverride<boolean>(SKIP + name, targets);
      })
      .map((throttler) => ({
        policy: throttler.name,
        limit: this.reflector.getAllAndOverride<number>(LIMIT + throttler.name, targets) ?? (throttler.limit as number),
        ttl: this.reflector.getAllAndOverride<number>(TTL + throttler.name, targets) ?? (throttler.ttl as number),
        getTracker: throttler.getTracker ?? this.commonOptions.getTracker!,
        describes: own.length ? own.includes(throttler.name as never) : throttler.name === 'rest',
      }));
  }
}
