import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from '../config/env-transforms';

/** Health checks. A section of the Environment (config/environment.ts), validated once at boot. */
export class HealthConfig {
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(30_000)
  HEALTH_DB_TIMEOUT_MS = 1_500;
}
