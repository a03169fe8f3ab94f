import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;

const toBool = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  return value;
};

const emptyToUndefined = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

/**
 * Every variable the server reads, with its default. `.env.example` lists the same
 * names; a test keeps the two in step.
 */
export class Environment {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  /** Unset: an embedded PostgreSQL under DATA_DIR/pg. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 10;

  /** Set: instances share events through Redis pub/sub. Unset: one instance, in-process bus. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL?: string;

  @Transform(toBool)
  @IsBoolean()
  MIGRATIONS_RUN = true;

  @IsString()
  @MinLength(1)
  DATA_DIR = './.data';

  /** 0: any free port on 127.0.0.1. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  EMBEDDED_PG_PORT = 0;

  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

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

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_REGISTER_PER_MIN = 30;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_REST_PER_MIN = 600;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_SEND_PER_SEC = 20;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  EDIT_WINDOW_MS = 900_000;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65_536)
  MESSAGE_MAX_LENGTH = 4_000;

  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(100_000)
  GROUP_MAX_PARTICIPANTS = 1_000;

  @Transform(toInt)
  @IsInt()
  @Min(1_024)
  @Max(104_857_600)
  BODY_LIMIT_BYTES = 102_400;

  @Transform(toInt)
  @IsInt()
  @Min(1_024)
  @Max(16_777_216)
  WS_MAX_FRAME_BYTES = 65_536;

  @Transform(toInt)
  @IsInt()
  @Min(65_536)
  WS_MAX_BUFFERED_BYTES = 4_194_304;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  RATE_WS_PER_SEC = 50;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1_000)
  MAX_CONNECTIONS_PER_USER = 5;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  WS_HEARTBEAT_MS = 30_000;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  TYPING_TTL_MS = 5_000;

  @Transform(toInt)
  @IsInt()
  @Min(0)
  PRESENCE_GRACE_MS = 2_000;

  /** With Redis: each instance renews its presence this often (a third of it); a dead one stops counting after it. */
  @Transform(toInt)
  @IsInt()
  @Min(300)
  PRESENCE_TTL_MS = 15_000;

  /** Comma-separated origins, `*` for any; empty: no cross-origin access. */
  @IsString()
  @MaxLength(4096)
  CORS_ORIGINS = '';

  /** Number of proxy hops to trust for the client IP (X-Forwarded-For). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(10)
  TRUST_PROXY_HOPS = 0;

  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(30_000)
  HEALTH_DB_TIMEOUT_MS = 1_500;

  /**
   * On SIGTERM/SIGINT, how long to keep serving with readiness failing before no
   * longer accepting connections, so that a load balancer moves traffic away first
   * and requests already on their way are answered.
   */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(600_000)
  SHUTDOWN_DRAIN_MS = 1_000;

  /** After the drain: the longest wait for in-flight work before exiting with 1. */
  @Transform(toInt)
  @IsInt()
  @Min(100)
  SHUTDOWN_TIMEOUT_MS = 10_000;

  /**
   * How long an idle keep-alive connection stays open. Above the idle timeout of
   * whatever pools connections to us (nginx's upstream keepalive_timeout is 60 s), or a
   * request sent on a connection we are closing fails with ECONNRESET.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1_000)
  @Max(600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;
}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

function describe(errors: ValidationError[], raw: Record<string, unknown>): string[] {
  return errors.map((e) => {
    const got = raw[e.property];
    const shown = e.property.includes('SECRET') || e.property.includes('URL') ? '' : ` (got ${JSON.stringify(got)})`;
    return `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}${shown}`;
  });
}

/** The names of all variables, defaulted or optional. */
export function environmentVariableNames(): string[] {
  return [...new Set([...Object.keys(new Environment()), 'DATABASE_URL', 'JWT_SECRET', 'REDIS_URL'])].sort();
}

/** Validates raw environment variables into a typed Environment, or throws ConfigurationError. */
export function validateEnvironment(raw: Record<string, string | undefined>): Environment {
  const picked: Record<string, unknown> = {};
  for (const key of environmentVariableNames()) if (raw[key] !== undefined) picked[key] = raw[key];

  const env = plainToInstance(Environment, picked);
  const errors = validateSync(env, { forbidUnknownValues: true });
  const problems = describe(errors, picked);
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    problems.push('JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  if (problems.length) throw new ConfigurationError(problems);
  return env;
}
