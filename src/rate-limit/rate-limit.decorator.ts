import { SetMetadata } from '@nestjs/common';

/**
 * Which REST limit a route counts against. `rest` (the default) is the general
 * per-user (or per-IP before login) limit; `register` is per IP; `none` is for
 * operator endpoints (health, metrics) and routes limited in their service.
 */
export type RestRatePolicy = 'rest' | 'register' | 'none';

export const RATE_POLICY_KEY = 'parley:rate-policy';
export const RatePolicy = (policy: RestRatePolicy) => SetMetadata(RATE_POLICY_KEY, policy);
