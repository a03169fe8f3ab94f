import { QueryFailedError } from 'typeorm';

/** Errors of the network or of a server going away: the database is not there, not the request wrong. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATEs that mean "try again later": class 08 (connection exception), 53
 * (insufficient resources: too many connections, disk full, out of memory) and
 * 57P01-57P03 (the server is shutting down, crashed, or is starting up).
 */
const UNAVAILABLE_SQLSTATE = /^(08|53)|^57P0[123]$/;

/** What node-postgres says, without a code, when a connection is gone or cannot be had. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|not queryable|Cannot use a pool after calling end/;

/**
 * Whether a failure means the database is unavailable (an outage, a restart, a full
 * pool that never frees up) rather than a bug: such a failure is a 503 with
 * Retry-After on REST and `unavailable` on the socket, never a 500.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  const cause = error instanceof QueryFailedError ? (error.driverError as unknown) : error;
  // Duck-typed: Node's own errors come from another realm under Jest, where instanceof fails.
  if (typeof cause !== 'object' || cause === null) return false;
  const { code, message } = cause as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}
