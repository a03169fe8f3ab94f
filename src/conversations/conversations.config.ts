import { IntVariable } from '../config/env-transforms';

/** Conversations. A section of the Environment (config/environment.ts), validated once at boot. */
export class ConversationsConfig {
  @IntVariable(2, 100_000)
  GROUP_MAX_PARTICIPANTS = 1_000;
}
