import { IntVariable } from '../config/env-transforms';

/** Every limit of docs/protocol.md §4. A section of the Environment (config/environment.ts), validated once at boot. */
export class RateLimitConfig {
  @IntVariable(1)
  RATE_REST_PER_MIN = 600;

  @IntVariable(1)
  RATE_REGISTER_PER_MIN = 30;

  @IntVariable(1)
  RATE_LOGIN_FAILS = 10;

  @IntVariable(1_000)
  RATE_LOGIN_WINDOW_MS = 900_000;

  @IntVariable(1)
  RATE_SEND_PER_SEC = 20;

  @IntVariable(1)
  RATE_WS_PER_SEC = 50;
}
