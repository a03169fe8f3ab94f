import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';
import { emptyToUndefined, toInt } from '../config/env-transforms';

/** Tokens, and the limits of the auth endpoints. A section of the Environment (config/environment.ts), validated once at boot. */
export class AuthConfig {
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string = undefined;

  @Transform(toInt)
  @IsInt()
  @Min(10_000)
  @Max(86_400_000)
  JWT_ACCESS_TTL_MS = 900_000;

  @Transform(toInt)
  @IsInt()
  @Min(60_000)
  JWT_REFRESH_TTL_MS = 2_592_000_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_LOGIN_FAILS = 10;

  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  RATE_LOGIN_WINDOW_MS = 900_000;
}
