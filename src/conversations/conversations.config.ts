import { Transform } from 'class-transformer';
import { IsInt, Max, Min } from 'class-validator';
import { toInt } from '../config/env-transforms';

/** Conversations. A section of the Environment (config/environment.ts), validated once at boot. */
export class ConversationsConfig {
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(100_000)
  GROUP_MAX_PARTICIPANTS = 1_000;
}
