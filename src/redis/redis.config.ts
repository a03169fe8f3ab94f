import { Transform } from 'class-transformer';
import { IsOptional, Matches } from 'class-validator';
import { emptyToUndefined } from '../config/env-transforms';

/** Redis, for several instances. A section of the Environment (config/environment.ts), validated once at boot. */
export class RedisConfig {
  /** Set: instances share events through Redis pub/sub. Unset: one instance, in-process bus. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string = undefined;

  /** Starts every key and channel of this deployment, so that two deployments can share one Redis. */
  @Matches(/^[A-Za-z0-9:_.-]{0,64}$/, { message: 'REDIS_PREFIX must be at most 64 of A-Z a-z 0-9 : _ . -' })
  REDIS_PREFIX = 'parley:';
}
