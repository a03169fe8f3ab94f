import { Transform } from 'class-transformer';
import { IsOptional } from 'class-validator';
import { IntVariable, emptyToUndefined } from '../config/env-transforms';

/** The change log behind GET /sync. A section of the Environment (config/environment.ts), validated once at boot. */
export class SyncConfig {
  /**
   * How long changes are kept; a token older than this is refused (410 resync_required)
   * and the client bootstraps again. Unset: forever (the log grows with the changes).
   */
  @Transform(emptyToUndefined)
  @IsOptional()
  @IntVariable(60_000)
  SYNC_RETENTION_MS?: number = undefined;
}
