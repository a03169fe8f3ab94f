import { IntVariable } from '../config/env-transforms';

/** Messages: sending, content, edits. A section of the Environment (config/environment.ts), validated once at boot. */
export class MessagesConfig {
  @IntVariable(1)
  RATE_SEND_PER_SEC = 20;

  @IntVariable(0)
  EDIT_WINDOW_MS = 900_000;

  @IntVariable(1, 65_536)
  MESSAGE_MAX_LENGTH = 4_000;
}
