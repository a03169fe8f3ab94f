import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { IntVariable, emptyToUndefined, toBool } from './env-transforms';

/** The process: where it listens, how it logs, how it shuts down, what HTTP accepts. A section of the Environment (config/environment.ts), validated once at boot. */
export class AppConfig {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IntVariable(0, 65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  /**
   * Serve the API documents (/docs, /docs-json, /docs/asyncapi.json). Unset: yes, but
   * not with NODE_ENV=production, where they would show every route to anyone.
   */
  @Transform(({ value }) => toBool({ value: emptyToUndefined({ value }) }))
  @IsOptional()
  @IsBoolean()
  DOCS_ENABLED?: boolean = undefined;

  /**
   * Serve the demo chat page (/demo: client/dist/demo, built by `npm run build:client`). Unset:
   * yes, but not with NODE_ENV=production, where a deployment serves its own client.
   */
  @Transform(({ value }) => toBool({ value: emptyToUndefined({ value }) }))
  @IsOptional()
  @IsBoolean()
  DEMO_ENABLED?: boolean = undefined;

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent' = 'info';

  @IsString()
  @MinLength(1)
  DATA_DIR = './.data';

  /** Comma-separated origins, `*` for any; empty: no cross-origin access. */
  @IsString()
  @MaxLength(4096)
  CORS_ORIGINS = '';

  /** Number of proxy hops to trust for the client IP (X-Forwarded-For). */
  @IntVariable(0, 10)
  TRUST_PROXY_HOPS = 0;

  @IntVariable(1_024, 104_857_600)
  BODY_LIMIT_BYTES = 102_400;

  /**
   * How long an idle keep-alive connection stays open. Above the idle timeout of
   * whatever pools connections to us (nginx's upstream keepalive_timeout is 60 s), or a
   * request sent on a connection we are closing fails with ECONNRESET.
   */
  @IntVariable(1_000, 600_000)
  HTTP_KEEP_ALIVE_TIMEOUT_MS = 65_000;

  /**
   * On SIGTERM/SIGINT, how long to keep serving with readiness failing before no
   * longer accepting connections, so that a load balancer moves traffic away first
   * and requests already on their way are answered.
   */
  @IntVariable(0, 600_000)
  SHUTDOWN_DRAIN_MS = 1_000;

  /** After the drain: the longest wait for in-flight work before exiting with 1. */
  @IntVariable(100)
  SHUTDOWN_TIMEOUT_MS = 10_000;
}

/** Whether the API documents are served (DOCS_ENABLED, else not in production). */
export function docsEnabled(env: Pick<AppConfig, 'DOCS_ENABLED' | 'NODE_ENV'>): boolean {
  return env.DOCS_ENABLED ?? env.NODE_ENV !== 'production';
}

/** Whether the demo page is served at /demo (DEMO_ENABLED, else not in production). */
export function demoEnabled(env: Pick<AppConfig, 'DEMO_ENABLED' | 'NODE_ENV'>): boolean {
  return env.DEMO_ENABLED ?? env.NODE_ENV !== 'production';
}
