import { Transform } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { emptyToUndefined, toBool, toInt } from '../config/env-transforms';

/** PostgreSQL: which one, how many connections, migrations on start. A section of the Environment (config/environment.ts), validated once at boot. */
export class DatabaseConfig {
  /** Unset: an embedded PostgreSQL under DATA_DIR/pg. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string = undefined;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toBool)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  /** 0: any free port on 127.0.0.1. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  EMBEDDED_PG_PORT = 0;
}
