import { IntVariable } from '../config/env-transforms';

/** The general REST limit. A section of the Environment (config/environment.ts), validated once at boot. */
export class RateLimitConfig {
  @IntVariable(1)
  RATE_REST_PER_MIN = 600;

  @IntVariable(1)
  RATE_REGISTER_PER_MIN = 30;
}
