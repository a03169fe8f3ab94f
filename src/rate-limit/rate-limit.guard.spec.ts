import type { ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { getOptionsToken, getStorageToken, SkipThrottle, Throttle } from '@nestjs/throttler';
import { LimitedBy } from './rate-limit.decorator';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitedException } from './rate-limited.exception';
import { RateLimitsService } from './rate-limits.service';

class Routes {
  plain() {}
  @LimitedBy('register')
  @SkipThrottle({ rest: true })
  register() {}
  @LimitedBy('login')
  login() {}
  @Throttle({ rest: { limit: 1, ttl: 5_000 } })
  strict() {}
  @SkipThrottle({ rest: true })
  health() {}
}

/** Which throttlers a route counts, read from @nestjs/throttler's own decorators (the e2e: test/rate-limits*.e2e-spec.ts). */
describe('RateLimitGuard', () => {
  async function setup() {
    const counted: { key: string; ttl: number; limit: number }[] = [];
    const hits = new Map<string, number>();
    const storage = {
      increment: (key: string, ttl: number, limit: number) => {
        counted.push({ key, ttl, limit });
        const totalHits = (hits.get(key) ?? 0) + 1;
        hits.set(key, totalHits);
        return Promise.resolve({ totalHits, timeToExpire: 3, isBlocked: totalHits > limit, timeToBlockExpire: 0 });
      },
    };
    const tracker = (name: string) => () => `${name}-tracker`;
    const moduleRef = await Test.createTestingModule({
      providers: [
        RateLimitGuard,
        Reflector,
        { provide: getStorageToken(), useValue: storage },
        {
          provide: getOptionsToken(),
          useValue: {
            throttlers: ['rest', 'register', 'login'].map((name) => ({
              name,
              limit: 10,
              ttl: 60_000,
              getTracker: tracker(name),
            })),
          },
        },
        {
          provide: RateLimitsService,
          useValue: { refused: (_policy: string, ms: number) => new RateLimitedException(ms) },
        },
      ],
    }).compile();
    const guard = moduleRef.get(RateLimitGuard);
    await guard.onModuleInit();
    const headers: Record<string, unknown> = {};
    const context = (route: keyof Routes, type = 'http') =>
      ({
        getType: () => type,
        getHandler: () => Routes.prototype[route],
        getClass: () => Routes,
        switchToHttp: () => ({
          getRequest: () => ({}),
          getResponse: () => ({ setHeader: (name: string, value: unknown) => (headers[name] = value) }),
        }),
      }) as unknown as ExecutionContext;
    return { guard, counted, headers, context };
  }

  it.each([
    ['plain', ['rest:rest-tracker']],
    ['register', ['register:register-tracker']],
    ['login', ['rest:rest-tracker', 'login:login-tracker']],
    ['health', []],
  ] as const)('counts %s against %j', async (route, keys) => {
    const { guard, counted, context } = await setup();
    expect(await guard.canActivate(context(route))).toBe(true);
    expect(counted.map((c) => c.key).sort()).toEqual([...keys].sort());
  });

  it("takes a route's @Throttle numbers, and refuses past them with the window's rest as Retry-After", async () => {
    const { guard, counted, headers, context } = await setup();
    await guard.canActivate(context('strict'));
    expect(counted).toEqual([{ key: 'rest:rest-tracker', ttl: 5_000, limit: 1 }]);
    expect(headers).toEqual({ 'X-RateLimit-Limit': 1, 'X-RateLimit-Remaining': 0, 'X-RateLimit-Reset': 3 });
    const refusal = await guard.canActivate(context('strict')).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(RateLimitedException);
    expect((refusal as RateLimitedException).retryAfterSeconds).toBe(3);
  });

  it('describes the route’s own limit in the headers, not the general one', async () => {
    const { guard, headers, context } = await setup();
    await guard.canActivate(context('login'));
    expect(headers['X-RateLimit-Limit']).toBe(10);
    await guard.canActivate(context('register'));
    expect(headers['X-RateLimit-Remaining']).toBe(9);
  });

  it('does nothing on a socket’s handlers', async () => {
    const { guard, counted, context } = await setup();
    expect(await guard.canActivate(context('plain', 'ws'))).toBe(true);
    expect(counted).toEqual([]);
  });
});
