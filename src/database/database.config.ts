import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, Matches } from 'class-validator';
import { IntVariable, emptyToUndefined, toBool } from '../config/env-transforms';

/** PostgreSQL: which one, how many connections, migrations on start. A section of the Environment (config/environment.ts), validated once at boot. */
export class DatabaseConfig {
  /** Unset: an embedded PostgreSQL under DATA_DIR/pg. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string = undefined;

  @IntVariable(1, 200)
  DATABASE_POOL_SIZE = 10;

  @Transform(toBool)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  /**
   * How long a start waits for DATABASE_URL's server, all attempts together, before it
   * exits 1 with one fatal line naming the cause (an orchestrator restarts it; a wrong
   * URL is seen in seconds, not after half a minute of retries).
   */
  @IntVariable(100, 600_000)
  DATABASE_CONNECT_TIMEOUT_MS = 4_000;

  /** Attempts after the first (within DATABASE_CONNECT_TIMEOUT_MS); a bad password or unknown database fails at once. */
  @IntVariable(0, 100)
  DATABASE_CONNECT_RETRIES = 3;

  @IntVariable(0, 60_000)
  DATABASE_CONNECT_RETRY_DELAY_MS = 500;

  /** 0: any free port on 127.0.0.1. */
  @IntVariable(0, 65535)
  EMBEDDED_PG_PORT = 0;

  /**
   * With NODE_ENV=production and no DATABASE_URL the server refuses to start unless
   * this says otherwise: the embedded database lives in DATA_DIR, and in a container
   * it goes with the container.
   */
  @Transform(toBool)
  @IsBoolean()
  EMBEDDED_PG_IN_PRODUCTION = false;
}
