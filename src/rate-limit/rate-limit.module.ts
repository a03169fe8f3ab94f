import { Global, Module } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Clock } from '../common/clock';
import { ThrottlerModule, type ThrottlerModuleOptions, type ThrottlerOptions } from '@nestjs/throttler';
import type { RateLimitConfig } from './rate-limit.config';
import { ipTracker, loginTracker, policyRules, userOrIpTracker, type LimitPolicy } from './rate-limit.policies';
import { RateLimitsService } from './rate-limits.service';
import { SharedThrottlerStorage } from './shared-throttler.storage';

/** The storage on its own, so that the throttler's options and RateLimitsService get the same instance. */
@Module({ providers: [SharedThrottlerStorage, Clock], exports: [SharedThrottlerStorage, Clock] })
class RateLimitStorageModule {}

type Tracked = Exclude<LimitPolicy, 'frames' | 'send'>;

const TRACKERS: Record<Tracked, NonNullable<ThrottlerOptions['getTracker']>> = {
  rest: (req) => userOrIpTracker(req),
  register: (req) => ipTracker(req.ip as string | undefined),
  login: (req) =>
    loginTracker((req.body as { username?: unknown } | undefined)?.username, req.ip as string | undefined),
};

/** The named throttlers; which apply to a route is RateLimitGuard's to resolve (rest unless skipped, the others opted in). */
function throttlerOptions(
  config: ConfigService<RateLimitConfig, true>,
  storage: SharedThrottlerStorage,
): ThrottlerModuleOptions {
  const rules = policyRules(config);
  return {
    storage,
    throttlers: (Object.keys(TRACKERS) as Tracked[]).map((name) => ({
      name,
      limit: rules[name].limit,
      ttl: rules[name].windowMs,
      getTracker: TRACKERS[name],
    })),
  };
}

/**
 * Every limit of docs/protocol.md §4 on @nestjs/throttler: the named throttlers of the REST
 * routes (RateLimitGuard, global in app.module.ts), and RateLimitsService for the
 * socket and the services, all counted by SharedThrottlerStorage.
 */
@Global()
@Module({
  imports: [
    RateLimitStorageModule,
    ThrottlerModule.forRootAsync({
      imports: [RateLimitStorageModule],
      inject: [ConfigService, SharedThrottlerStorage],
      useFactory: throttlerOptions,
    }),
  ],
  providers: [RateLimitsService],
  exports: [RateLimitsService],
})
export class RateLimitModule {}
