import { IntVariable } from '../config/env-transforms';

/** Messages: content and edits (the send limit is in rate-limit.config.ts). A section of the Environment (config/environment.ts), validated once at boot. */
export class MessagesConfig {
  @IntVariable(0)
  EDIT_WINDOW_MS = 900_000;

  @IntVariable(1, 65_536)
  MESSAGE_MAX_LENGTH = 4_000;
}
