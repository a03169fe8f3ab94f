import { IntVariable } from '../config/env-transforms';

/** Presence. A section of the Environment (config/environment.ts), validated once at boot. */
export class PresenceConfig {
  @IntVariable(0)
  PRESENCE_GRACE_MS = 2_000;

  /** With Redis: each instance renews its presence this often (a third of it); a dead one stops counting after it. */
  @IntVariable(300)
  PRESENCE_TTL_MS = 15_000;
}
