import { IntVariable } from '../config/env-transforms';

/** The WebSocket: frames, connections, heartbeat, typing (the frame limit is in rate-limit.config.ts). A section of the Environment (config/environment.ts), validated once at boot. */
export class RealtimeConfig {
  @IntVariable(1_024, 16_777_216)
  WS_MAX_FRAME_BYTES = 65_536;

  @IntVariable(65_536)
  WS_MAX_BUFFERED_BYTES = 4_194_304;

  @IntVariable(1, 1_000)
  MAX_CONNECTIONS_PER_USER = 5;

  @IntVariable(100)
  WS_HEARTBEAT_MS = 30_000;

  @IntVariable(100)
  TYPING_TTL_MS = 5_000;

  /** How often each instance reads the change log for changes whose live event never came (LogFollower). */
  @IntVariable(10, 60_000)
  LOG_FOLLOW_MS = 250;

  /** How long a committed change's event may take to arrive before the log follower pushes it itself. */
  @IntVariable(10, 600_000)
  LIVE_REPAIR_AFTER_MS = 750;
}
