import { Transform } from 'class-transformer';
import { IsOptional, IsString, MinLength } from 'class-validator';
import { IntVariable, emptyToUndefined } from '../config/env-transforms';

/** Tokens. A section of the Environment (config/environment.ts), validated once at boot. */
export class AuthConfig {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string = undefined;

  @IntVariable(10_000, 86_400_000)
  JWT_ACCESS_TTL_MS = 900_000;

  @IntVariable(60_000)
  JWT_REFRESH_TTL_MS = 2_592_000_000;
}
