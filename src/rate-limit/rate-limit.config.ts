import { Transform } from 'class-transformer';
import { IsInt, Min } from 'class-validator';
import { toInt } from '../config/env-transforms';

/** The general REST limit. A section of the Environment (config/environment.ts), validated once at boot. */
export class RateLimitConfig {
  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_REST_PER_MIN = 600;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_REGISTER_PER_MIN = 30;
}
