import { SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { OptInPolicy } from './rate-limit.policies';

export const LIMITED_BY_KEY = 'parley:limited-by';

/**
 * Opts a route (or a controller) into the `register` or `login` throttler besides
 * `rest`. Where the general limit must not count too, add @SkipThrottle({ rest: true }).
 */
export const LimitedBy = (...policies: OptInPolicy[]) => SetMetadata(LIMITED_BY_KEY, policies);

export function limitedBy(context: ExecutionContext): readonly OptInPolicy[] {
  return (
    (Reflect.getMetadata(LIMITED_BY_KEY, context.getHandler()) as OptInPolicy[] | undefined) ??
    (Reflect.getMetadata(LIMITED_BY_KEY, context.getClass()) as OptInPolicy[] | undefined) ??
    []
  );
}
