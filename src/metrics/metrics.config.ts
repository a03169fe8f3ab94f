import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { IntVariable, emptyToUndefined } from '../config/env-transforms';

/** Who may read /metrics, and where. A section of the Environment (config/environment.ts), validated once at boot. */
export class MetricsConfig {
  /**
   * Set: /metrics is served on this port only (on METRICS_HOST), not on the API port, so that
   * only what can reach that port (the scraper, not the internet) reads it. 0: a free port.
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IntVariable(0, 65535)
  METRICS_PORT?: number = undefined;

  /** The interface METRICS_PORT listens on (e.g. an internal one); unset: HOST. */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IsString()
  @MaxLength(255)
  METRICS_HOST?: string = undefined;

  /**
   * Set: /metrics answers only `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).
   * With NODE_ENV=production and neither this nor METRICS_PORT, /metrics is not served (404).
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @Matches(/^[\x21-\x7e]{16,256}$/, {
    message: 'METRICS_TOKEN must be 16 to 256 printable ASCII characters, no spaces',
  })
  METRICS_TOKEN?: string = undefined;
}

/** Where /metrics is served: on the API port (open, or with a token), on its own port, or nowhere. */
export function metricsExposure(env: MetricsConfig & { NODE_ENV: string }): 'api' | 'own-port' | 'off' {
  if (env.METRICS_PORT !== undefined) return 'own-port';
  if (env.METRICS_TOKEN || env.NODE_ENV !== 'production') return 'api';
  return 'off';
}
