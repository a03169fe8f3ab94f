/**
 * What went wrong, in one shape for REST and the socket:
 * - `http`: the server answered with an error status (`status`, and `message` from its body);
 * - `socket`: an `error` frame (`code`, one of the protocol's error codes);
 * - `network`: no answer (offline, connection refused or reset);
 * - `timeout`: no answer in time (the request may still have taken effect);
 * - `offline`: not attempted, the client is offline;
 * - `session`: there is no live session (signed out, or the refresh token was refused);
 * - `invalid`: refused here before anything was sent (e.g. empty content).
 */
export type ParleyErrorKind = 'http' | 'socket' | 'network' | 'timeout' | 'offline' | 'session' | 'invalid';

export class ParleyError extends Error {
  override readonly name = 'ParleyError';

  constructor(
    message: string,
    readonly kind: ParleyErrorKind,
    readonly details: {
      /** HTTP status (kind `http`). */
      status?: number;
      /** The socket's error code (kind `socket`), or `resync_required` for a 410. */
      code?: string;
      /** From Retry-After (REST). */
      retryAfterMs?: number;
    } = {},
  ) {
    super(message);
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get code(): string | undefined {
    return this.details.code;
  }

  /**
   * Worth trying again later, unchanged: no answer, a rate limit, the database away
   * (503 / `unavailable`). Anything else is a refusal that a retry repeats.
   */
  get transient(): boolean {
    if (this.kind === 'network' || this.kind === 'timeout' || this.kind === 'offline') return true;
    if (this.kind === 'http')
      return this.status === 429 || this.status === 503 || this.status === 502 || this.status === 504;
    if (this.kind === 'socket') return this.code === 'rate_limited' || this.code === 'unavailable';
    return false;
  }
}
