import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Where a client is in its change log, given to it as an opaque, signed token.
 *
 * `lo` is the PostgreSQL snapshot (pg_current_snapshot(), `xmin:xmax:xip,...`) whose
 * changes the client has: every change committed by a transaction that `lo` sees. A sync
 * returns the changes `lo` does not see and `hi` does; `hi` is the reader's snapshot at the
 * first page, kept across the pages of one catch-up (`after`: the last conversation and pos
 * returned), and becomes the next `lo` when the last page is out.
 */
export interface SyncPosition {
  /** The user the token was given to: another user's token is refused. */
  user: string;
  lo: string;
  /** When `lo` was taken (ms since the epoch): retention refuses tokens older than it keeps. */
  loAt: number;
  hi?: string;
  hiAt?: number;
  after?: { conversationId: string; pos: string };
}

const SNAPSHOT = /^\d{1,20}:\d{1,20}:(\d{1,20}(,\d{1,20})*)?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const POS = /^\d{1,19}$/;
const MAX_TOKEN_LENGTH = 8_192;

type Wire = { v: 1; u: string; lo: string; la: number; hi?: string; ha?: number; c?: string; p?: string };

export class SyncTokens {
  private readonly key: Buffer;

  /** Keyed by the server's JWT secret: a token cannot be forged, nor moved to another deployment. */
  constructor(secret: string) {
    this.key = createHash('sha256').update(`parley-sync-token:${secret}`).digest();
  }

  encode(position: SyncPosition): string {
    const wire: Wire = { v: 1, u: position.user, lo: position.lo, la: position.loAt };
    if (position.hi) Object.assign(wire, { hi: position.hi, ha: position.hiAt });
    if (position.after) Object.assign(wire, { c: position.after.conversationId, p: position.after.pos });
    const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
    return `${body}.${this.sign(body)}`;
  }

  /** The position, or undefined for anything this server did not give to this user. */
  decode(token: string, userId: string): SyncPosition | undefined {
    if (token.length > MAX_TOKEN_LENGTH) return undefined;
    const [body, signature, ...rest] = token.split('.');
    if (!body || !signature || rest.length) return undefined;
    const expected = Buffer.from(this.sign(body));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    let wire: Partial<Wire>;
    try {
      wire = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Partial<Wire>;
    } catch {
      return undefined;
    }
    if (wire.v !== 1 || wire.u !== userId || typeof wire.lo !== 'string' || !SNAPSHOT.test(wire.lo)) return undefined;
    if (typeof wire.la !== 'number') return undefined;
    const position: SyncPosition = { user: wire.u, lo: wire.lo, loAt: wire.la };
    if (wire.hi !== undefined) {
      if (typeof wire.hi !== 'string' || !SNAPSHOT.test(wire.hi) || typeof wire.ha !== 'number') return undefined;
      Object.assign(position, { hi: wire.hi, hiAt: wire.ha });
    }
    if (wire.c !== undefined) {
      if (
        !position.hi ||
        typeof wire.c !== 'string' ||
        !UUID.test(wire.c) ||
        typeof wire.p !== 'string' ||
        !POS.test(wire.p)
      )
        return undefined;
      position.after = { conversationId: wire.c, pos: wire.p };
    }
    return position;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.key).update(body).digest('base64url');
  }
}
