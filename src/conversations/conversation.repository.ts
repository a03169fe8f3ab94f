import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { changeMarkIn, type ChangeMark } from '../database/change-mark';
import { queryRows } from '../database/sql';
import type { ConversationType, ParticipantRole } from '../contracts/views';

export interface ConversationRow {
  id: string;
  type: ConversationType;
  title: string | null;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
}

export interface ParticipantRow {
  conversation_id: string;
  user_id: string;
  role: ParticipantRole;
  last_read_seq: number;
}

export interface MembershipRow {
  type: ConversationType;
  role: ParticipantRole;
  last_seq: number;
  last_read_seq: number;
}

/** Where a page of the conversation list starts: after this activity time and id. */
export interface ActivityCursor {
  activityUs: string;
  id: string;
}

export type MarkerColumn = 'last_read_seq' | 'last_delivered_seq';

const CONVERSATION_COLUMNS = 'c.id, c.type, c.title, c.last_seq, c.created_at, c.updated_at';

/** A marker's move; `change` is its log entry's mark when it moved (after > before). */
export interface MovedMarker {
  before: number;
  after: number;
  at: Date;
  memberIds: string[];
  change: ChangeMark;
}

/**
 * Every statement on `conversations` and `conversation_participants` but the send
 * (messages/send.statement.ts), run on the pool or inside one transaction
 * (ConversationRepository.transaction). Access rules are the service's: a method
 * here answers what is stored and never throws for "not found".
 */
export class ConversationQueries {
  constructor(protected readonly db: EntityManager) {}

  /** The direct conversation of a pair, unless it exists: the unique direct_key decides under concurrent creates. */
  async insertDirect(directKey: string, creatorId: string): Promise<string | undefined> {
    const [row] = await queryRows<{ id: string }>(
      this.db,
      `INSERT INTO conversations (type, direct_key, created_by) VALUES ('direct', $1, $2)
       ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
      [directKey, creatorId],
    );
    return row?.id;
  }

  async findDirectId(directKey: string): Promise<string | undefined> {
    const [row] = await queryRows<{ id: string }>(this.db, 'SELECT id FROM conversations WHERE direct_key = $1', [
      directKey,
    ]);
    return row?.id;
  }

  async insertGroup(title: string, creatorId: string): Promise<string> {
    const [row] = await queryRows<{ id: string }>(
      this.db,
      `INSERT INTO conversations (type, title, created_by) VALUES ('group', $1, $2) RETURNING id`,
      [title, creatorId],
    );
    return row.id;
  }

  async insertParticipants(conversationId: string, members: (readonly [string, ParticipantRole])[]): Promise<void> {
    await queryRows(
      this.db,
      `INSERT INTO conversation_participants (conversation_id, user_id, role)
       SELECT $1, u.id, u.role FROM unnest($2::uuid[], $3::varchar[]) AS u(id, role)`,
      [conversationId, members.map(([id]) => id), members.map(([, role]) => role)],
    );
  }

  /** A page of the user's conversations, most recent activity first (keyset), one row more than `limit`. */
  pageForUser(
    userId: string,
    after: ActivityCursor | undefined,
    limit: number,
  ): Promise<(ConversationRow & { activity_us: string })[]> {
    return queryRows(
      this.db,
      `SELECT ${CONVERSATION_COLUMNS}, (extract(epoch FROM c.updated_at) * 1000000)::bigint AS activity_us
         FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.user_id = $1 AND p.left_at IS NULL
          AND ($2::bigint IS NULL OR ((extract(epoch FROM c.updated_at) * 1000000)::bigint, c.id) < ($2::bigint, $3::uuid))
        ORDER BY c.updated_at DESC, c.id DESC
        LIMIT $4`,
      [userId, after?.activityUs ?? null, after?.id ?? null, limit + 1],
    );
  }

  findByIds(ids: string[]): Promise<ConversationRow[]> {
    return queryRows(this.db, `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = ANY($1::uuid[])`, [
      ids,
    ]);
  }

  /** Current participants of the conversations, in joining order. */
  participantsOf(conversationIds: string[]): Promise<ParticipantRow[]> {
    return queryRows(
      this.db,
      `SELECT conversation_id, user_id, role, last_read_seq FROM conversation_participants
        WHERE conversation_id = ANY($1::uuid[]) AND left_at IS NULL
        ORDER BY joined_at, user_id`,
      [conversationIds],
    );
  }

  async membership(conversationId: string, userId: string): Promise<MembershipRow | undefined> {
    const [row] = await queryRows<MembershipRow>(
      this.db,
      `SELECT c.type, p.role, c.last_seq, p.last_read_seq
         FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.conversation_id = $1 AND p.user_id = $2 AND p.left_at IS NULL`,
      [conversationId, userId],
    );
    return row;
  }

  /** Which of the conversations the user takes part in now: one statement for any number. */
  async memberOf(userId: string, conversationIds: string[]): Promise<string[]> {
    const rows = await queryRows<{ conversation_id: string }>(
      this.db,
      `SELECT conversation_id FROM conversation_participants
        WHERE user_id = $1 AND conversation_id = ANY($2::uuid[]) AND left_at IS NULL`,
      [userId, conversationIds],
    );
    return rows.map((r) => r.conversation_id);
  }

  async memberIds(conversationId: string): Promise<string[]> {
    const rows = await queryRows<{ user_id: string }>(
      this.db,
      'SELECT user_id FROM conversation_participants WHERE conversation_id = $1 AND left_at IS NULL',
      [conversationId],
    );
    return rows.map((r) => r.user_id);
  }

  /** Takes the conversation's row lock (which sends take too); false when it does not exist. */
  async lock(conversationId: string): Promise<boolean> {
    const rows = await queryRows(this.db, 'SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
    return rows.length > 0;
  }

  /** How many current participants the conversation would have with these users added. */
  async sizeWith(conversationId: string, userIds: string[]): Promise<number> {
    const [{ total }] = await queryRows<{ total: number }>(
      this.db,
      `SELECT (SELECT count(*) FROM conversation_participants WHERE conversation_id = $1 AND left_at IS NULL)::int
            + (SELECT count(*) FROM unnest($2::uuid[]) AS u(id)
                WHERE NOT EXISTS (SELECT 1 FROM conversation_participants p
                                   WHERE p.conversation_id = $1 AND p.user_id = u.id AND p.left_at IS NULL))::int AS total`,
      [conversationId, userIds],
    );
    return total;
  }

  /** Adds members with everything up to `readUpTo` read; someone who left rejoins as a member. */
  async addMembers(conversationId: string, userIds: string[], readUpTo: number): Promise<void> {
    await queryRows(
      this.db,
      `INSERT INTO conversation_participants (conversation_id, user_id, role, last_read_seq, last_delivered_seq)
       SELECT $1, u.id, 'member', $3, $3 FROM unnest($2::uuid[]) AS u(id)
       ON CONFLICT (conversation_id, user_id) DO UPDATE
          SET left_at = NULL, role = 'member', joined_at = now(),
              last_read_seq = GREATEST(conversation_participants.last_read_seq, EXCLUDED.last_read_seq)
        WHERE conversation_participants.left_at IS NOT NULL`,
      [conversationId, userIds, readUpTo],
    );
  }

  /** Marks a current participant as gone; their role, or undefined when they were not one. */
  async markLeft(conversationId: string, userId: string): Promise<ParticipantRole | undefined> {
    const [row] = await queryRows<{ role: ParticipantRole }>(
      this.db,
      `UPDATE conversation_participants SET left_at = now()
        WHERE conversation_id = $1 AND user_id = $2 AND left_at IS NULL RETURNING role`,
      [conversationId, userId],
    );
    return row?.role;
  }

  /** Makes the longest-standing admin, else member, the owner. */
  async handOverOwnership(conversationId: string): Promise<void> {
    await queryRows(
      this.db,
      `UPDATE conversation_participants SET role = 'owner'
        WHERE (conversation_id, user_id) = (
          SELECT conversation_id, user_id FROM conversation_participants
           WHERE conversation_id = $1 AND left_at IS NULL
           ORDER BY (role = 'admin') DESC, joined_at, user_id LIMIT 1)`,
      [conversationId],
    );
  }

  /** What this transaction wrote in the conversation's change log, before it commits (see ChangeMark). */
  changeMark(conversationId: string): Promise<ChangeMark | undefined> {
    return changeMarkIn(this.db, conversationId);
  }

  /** Moves the conversation to the top of its members' lists. */
  async touch(conversationId: string): Promise<void> {
    await queryRows(this.db, 'UPDATE conversations SET updated_at = clock_timestamp() WHERE id = $1', [conversationId]);
  }

  /**
   * One statement: the marker only moves forward, never past the last seq, and the
   * conversation's current participants come back with it (the receipt's audience);
   * undefined for a non-participant.
   */
  async moveMarker(
    column: MarkerColumn,
    userId: string,
    conversationId: string,
    seq: number,
  ): Promise<MovedMarker | undefined> {
    const [row] = await queryRows<{
      before: number;
      after: number;
      at: Date;
      member_ids: string[];
      xid: string;
      pos: string;
    }>(
      this.db,
      // The conversation's row is locked before the participant's, as membership changes and the
      // change log's trigger lock them: the other order could deadlock with a removal. Holding
      // that lock, the trigger's log entry (when the marker moves) takes the next pos: last_change + 1.
      `WITH old AS (
         SELECT p.${column}, lc.last_change FROM conversations lc JOIN conversation_participants p ON p.conversation_id = lc.id
          WHERE lc.id = $1 AND p.user_id = $2 AND p.left_at IS NULL FOR UPDATE OF lc, p)
       UPDATE conversation_participants p
          SET ${column} = GREATEST(p.${column}, LEAST($3::int, c.last_seq))
         FROM conversations c, old
        WHERE c.id = p.conversation_id AND p.conversation_id = $1 AND p.user_id = $2
       RETURNING old.${column} AS before, p.${column} AS after, now() AS at,
                 ARRAY(SELECT m.user_id::text FROM conversation_participants m
                        WHERE m.conversation_id = $1 AND m.left_at IS NULL) AS member_ids,
                 pg_current_xact_id()::text AS xid, (old.last_change + 1)::text AS pos`,
      [conversationId, userId, seq],
    );
    return (
      row && {
        before: row.before,
        after: row.after,
        at: row.at,
        memberIds: row.member_ids,
        change: { xid: row.xid, pos: Number(row.pos) },
      }
    );
  }

  /** Everyone who shares at least one conversation with the user. */
  async contactsOf(userId: string): Promise<string[]> {
    const rows = await queryRows<{ user_id: string }>(
      this.db,
      `SELECT DISTINCT other.user_id FROM conversation_participants mine
         JOIN conversation_participants other
           ON other.conversation_id = mine.conversation_id AND other.left_at IS NULL AND other.user_id <> mine.user_id
        WHERE mine.user_id = $1 AND mine.left_at IS NULL`,
      [userId],
    );
    return rows.map((r) => r.user_id);
  }

  /** The user's memberships with messages after their read marker. */
  unreadMemberships(userId: string): Promise<{ conversation_id: string; last_read_seq: number }[]> {
    return queryRows(
      this.db,
      `SELECT p.conversation_id, p.last_read_seq FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.user_id = $1 AND p.left_at IS NULL AND c.last_seq > p.last_read_seq`,
      [userId],
    );
  }
}

/** The module's repository: its queries on the pool, and transactions that run them together. */
@Injectable()
export class ConversationRepository extends ConversationQueries {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {
    super(dataSource.manager);
  }

  transaction<T>(work: (tx: ConversationQueries) => Promise<T>): Promise<T> {
    return this.dataSource.transaction((manager) => work(new ConversationQueries(manager)));
  }
}
