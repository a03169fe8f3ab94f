import { queryRows, type Queryable } from './sql';

/**
 * Where a change sits in its conversation's log: the writing transaction and the
 * change's pos (migrations/1796600000000-CreateChangeLog.ts). Live events carry it, so
 * that fan-out can tell a change it pushed from one it must still push (RealtimeModule's
 * LogFollower), a resuming socket can drop what its replay already sent, and clients see
 * `pos` on each frame.
 */
export interface ChangeMark {
  /** xid8 of the transaction, as text. Not pushed to clients. */
  xid: string;
  pos: number;
}

/**
 * The mark of what the current transaction wrote in a conversation (its last pos there),
 * read before it commits: one look-up on change_log's primary key. Undefined when it
 * wrote nothing there.
 */
export async function changeMarkIn(db: Queryable, conversationId: string): Promise<ChangeMark | undefined> {
  const [row] = await queryRows<{ xid: string; pos: string | null }>(
    db,
    `SELECT pg_current_xact_id()::text AS xid,
            (SELECT max(pos) FROM change_log WHERE conversation_id = $1 AND xid = pg_current_xact_id())::text AS pos`,
    [conversationId],
  );
  return row.pos === null ? undefined : { xid: row.xid, pos: Number(row.pos) };
}
