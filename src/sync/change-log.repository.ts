import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { queryRows, type Queryable } from '../database/sql';

/** What a change_log row says (migrations/1796600000000-CreateChangeLog.ts). */
export interface ChangeRow {
  conversation_id: string;
  pos: string;
  kind: ChangeKind;
  message_id: string | null;
  user_id: string | null;
  seq: number | null;
  at: Date;
}

export type ChangeKind =
  | 'message.created'
  | 'message.updated'
  | 'message.deleted'
  | 'reaction.updated'
  | 'message.read'
  | 'message.delivered'
  | 'conversation.created'
  | 'participant.added'
  | 'participant.removed';

/**
 * The changes a user may see that `lo` did not see and `hi` does, after `after`, in
 * (conversation, pos) order: each conversation's in commit order. Only the conversations the
 * user took part in, and in each only the positions of the user's membership periods.
 */
const PAGE_SQL = `
  SELECT ch.conversation_id, ch.pos::text AS pos, ch.kind, ch.message_id, ch.user_id, ch.seq, ch.at
    FROM membership_periods mp
    JOIN change_log ch ON ch.conversation_id = mp.conversation_id
     AND ch.pos >= mp.from_pos AND (mp.to_pos IS NULL OR ch.pos <= mp.to_pos)
   WHERE mp.user_id = $1
     AND ch.xid >= pg_snapshot_xmin($2::pg_snapshot)
     AND NOT pg_visible_in_snapshot(ch.xid, $2::pg_snapshot)
     AND pg_visible_in_snapshot(ch.xid, $3::pg_snapshot)
     AND ($4::uuid IS NULL OR (ch.conversation_id, ch.pos) > ($4::uuid, $5::bigint))
   ORDER BY ch.conversation_id, ch.pos
   LIMIT $6`;

/** A follower's place in the log: a snapshot and when it was taken (the database's clock). */
export interface LogPoint {
  snapshot: string;
  at: Date;
}

/**
 * Every change, of any conversation, that `lo` did not see and `hi` does (the log
 * follower's step). `at` bounds the scan (the BRIN index): a change is taken to be written
 * at most 60 s before the snapshot that first sees it (a transaction open longer than that
 * is not followed; its change still reaches clients by sync).
 */
const BETWEEN_SQL = `
  SELECT ch.conversation_id, ch.pos::text AS pos, ch.xid::text AS xid, ch.kind, ch.message_id, ch.user_id, ch.seq, ch.at
    FROM change_log ch
   WHERE ch.at >= $3::timestamptz - interval '60 seconds'
     AND ch.xid >= pg_snapshot_xmin($1::pg_snapshot)
     AND NOT pg_visible_in_snapshot(ch.xid, $1::pg_snapshot)
     AND pg_visible_in_snapshot(ch.xid, $2::pg_snapshot)
   ORDER BY ch.conversation_id, ch.pos`;

@Injectable()
export class ChangeLogRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** The snapshot of the statement (of the transaction, in REPEATABLE READ), as text. */
  async snapshot(db: Queryable): Promise<string> {
    const [row] = await queryRows<{ snapshot: string }>(db, 'SELECT pg_current_snapshot()::text AS snapshot');
    return row.snapshot;
  }

  page(
    db: Queryable,
    userId: string,
    lo: string,
    hi: string,
    after: { conversationId: string; pos: string } | undefined,
    limit: number,
  ): Promise<ChangeRow[]> {
    return queryRows<ChangeRow>(db, PAGE_SQL, [
      userId,
      lo,
      hi,
      after?.conversationId ?? null,
      after?.pos ?? null,
      limit,
    ]);
  }

  /** The current snapshot, outside any transaction of the caller's. */
  async point(): Promise<LogPoint> {
    const [row] = await queryRows<LogPoint>(
      this.dataSource,
      'SELECT pg_current_snapshot()::text AS snapshot, clock_timestamp() AS at',
    );
    return row;
  }

  between(lo: LogPoint, hi: LogPoint): Promise<(ChangeRow & { xid: string })[]> {
    return queryRows(this.dataSource, BETWEEN_SQL, [lo.snapshot, hi.snapshot, lo.at]);
  }

  /** Which of `userIds` may see each change (by `conversation:pos`): those whose membership periods cover its pos. */
  async audienceOf(rows: readonly ChangeRow[], userIds: readonly string[]): Promise<Map<string, string[]>> {
    const audience = new Map<string, string[]>(rows.map((r) => [`${r.conversation_id}:${r.pos}`, []]));
    if (!rows.length || !userIds.length) return audience;
    const members = await queryRows<{ conversation_id: string; pos: string; user_id: string }>(
      this.dataSource,
      `SELECT ch.conversation_id, ch.pos::text AS pos, mp.user_id
         FROM unnest($1::uuid[], $2::bigint[]) AS ch(conversation_id, pos)
         JOIN membership_periods mp ON mp.conversation_id = ch.conversation_id
          AND ch.pos >= mp.from_pos AND (mp.to_pos IS NULL OR ch.pos <= mp.to_pos)
        WHERE mp.user_id = ANY($3::uuid[])`,
      [rows.map((r) => r.conversation_id), rows.map((r) => r.pos), userIds],
    );
    for (const m of members) audience.get(`${m.conversation_id}:${m.pos}`)?.push(m.user_id);
    return audience;
  }

  /** Deletes changes older than `olderThanMs`; the number deleted. */
  async prune(olderThanMs: number): Promise<number> {
    const rows = await queryRows<{ n: number }>(
      this.dataSource,
      `WITH gone AS (DELETE FROM change_log WHERE at < clock_timestamp() - make_interval(secs => $1::double precision / 1000)
                     RETURNING 1)
       SELECT count(*)::int AS n FROM gone`,
      [olderThanMs],
    );
    return rows[0].n;
  }
}
