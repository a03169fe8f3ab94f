import { IntVariable } from '../config/env-transforms';

/** Health checks. A section of the Environment (config/environment.ts), validated once at boot. */
export class HealthConfig {
  @IntVariable(100, 30_000)
  HEALTH_DB_TIMEOUT_MS = 1_500;
}
