import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from '../config/env-transforms';

/** Messages: sending, content, edits. A section of the Environment (config/environment.ts), validated once at boot. */
export class MessagesConfig {
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
}
