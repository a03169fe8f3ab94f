import type { IncomingMessage } from 'node:http';

/** Who sent the request, as its bearer token says (decoded once, by the auth context middleware). */
export interface RequestAuth {
  userId: string;
  expiresAt: Date;
}

/**
 * A request after the auth context middleware: `auth` is the verified token's user, null
 * for a missing or bad token. Guards and trackers read it instead of decoding again.
 */
export type RequestWithAuth = IncomingMessage & { auth?: RequestAuth | null };
