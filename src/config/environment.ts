import { plainToInstance } from 'class-transformer';
import { validateSync, ValidationError } from 'class-validator';
import { AuthConfig } from '../auth/auth.config';
import { ConversationsConfig } from '../conversations/conversations.config';
import { DatabaseConfig } from '../database/database.config';
import { HealthConfig } from '../health/health.config';
import { MessagesConfig } from '../messages/messages.config';
import { MetricsConfig } from '../metrics/metrics.config';
import { PresenceConfig } from '../presence/presence.config';
import { RateLimitConfig } from '../rate-limit/rate-limit.config';
import { RealtimeConfig } from '../realtime/realtime.config';
import { RedisConfig } from '../redis/redis.config';
import { SyncConfig } from '../sync/sync.config';
import { AppConfig } from './app.config';

/**
 * Every variable the server reads, with its default, in one section per module
 * (`<module>/<module>.config.ts`): a module reads its own section through
 * `ConfigService<ItsConfig, true>`. This file is the configuration's composition
 * root: it knows every section, validates them all once at boot and reports every
 * problem at once. `.env.example` lists the same names; a test keeps the two in step.
 */
const SECTIONS = [
  AppConfig,
  DatabaseConfig,
  RedisConfig,
  AuthConfig,
  RateLimitConfig,
  ConversationsConfig,
  MessagesConfig,
  RealtimeConfig,
  PresenceConfig,
  HealthConfig,
  MetricsConfig,
  SyncConfig,
] as const;

type Section = new () => object;

export interface Environment
  extends
    AppConfig,
    DatabaseConfig,
    RedisConfig,
    AuthConfig,
    RateLimitConfig,
    ConversationsConfig,
    MessagesConfig,
    RealtimeConfig,
    PresenceConfig,
    HealthConfig,
    MetricsConfig,
    SyncConfig {}
/** All sections together: what main.ts and the tests build the app from. */
export class Environment {}

export class ConfigurationError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigurationError';
  }
}

/** Variables whose value must not appear in a message (URLs may carry a password). */
const SECRET_NAME = /SECRET|TOKEN|PASSWORD|URL|KEY/;

function describe(errors: ValidationError[], raw: Record<string, unknown>): string[] {
  return errors.map((e) => {
    const got = raw[e.property];
    const shown = SECRET_NAME.test(e.property) ? '' : ` (got ${JSON.stringify(got)})`;
    return `${e.property}: ${Object.values(e.constraints ?? {}).join('; ')}${shown}`;
  });
}

/** The names of a section's variables (optional ones are declared `= undefined`, so they are own properties). */
function namesOf(section: Section): string[] {
  return Object.keys(new section());
}

/** The names of all variables, defaulted or optional. */
export function environmentVariableNames(): string[] {
  return SECTIONS.flatMap(namesOf).sort();
}

/** Validates raw environment variables into a typed Environment, or throws ConfigurationError. */
export function validateEnvironment(raw: Record<string, string | undefined>): Environment {
  const env = new Environment();
  const problems: string[] = [];
  for (const section of SECTIONS as readonly Section[]) {
    const picked: Record<string, unknown> = {};
    for (const key of namesOf(section)) if (raw[key] !== undefined) picked[key] = raw[key];
    const values = plainToInstance(section, picked);
    problems.push(...describe(validateSync(values, { forbidUnknownValues: true }), picked));
    Object.assign(env, values);
  }
  if (env.NODE_ENV === 'production' && !env.JWT_SECRET) {
    problems.push('JWT_SECRET: required when NODE_ENV=production (at least 32 characters)');
  }
  if (env.NODE_ENV === 'production' && !env.DATABASE_URL && !env.EMBEDDED_PG_IN_PRODUCTION) {
    problems.push(
      'DATABASE_URL: required when NODE_ENV=production; without it the embedded PostgreSQL would keep your data in ' +
        'DATA_DIR, which a container loses (set EMBEDDED_PG_IN_PRODUCTION=true to use it anyway)',
    );
  }
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT !== 0 && env.METRICS_PORT === env.PORT) {
    problems.push('METRICS_PORT: must differ from PORT (metrics on their own port)');
  }
  if (problems.length) throw new ConfigurationError(problems);
  return env;
}
