import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import type { Environment } from '../config/environment';
import { EventBus } from '../events/event-bus';
import { MessageSummariesService, unreadKey, type UnreadQuery } from '../messages/message-summaries.service';
import { PresenceService } from '../presence/presence.service';
import { USER_GONE, UsersService } from '../users/users.service';
import type { ConversationView, ParticipantView } from './conversation-view';
import { ConversationDto, type UnreadDto } from './dto/conversation.dto';
import type { ConversationType } from './entities/conversation.entity';
import type { ParticipantRole } from './entities/participant.entity';
import { databaseError, queryRows } from '../database/sql';

export const CONVERSATION_PAGE_DEFAULT = 20;

export interface Membership {
  type: ConversationType;
  role: ParticipantRole;
  lastSeq: number;
  lastReadSeq: number;
}

interface ConversationRow {
  id: string;
  type: ConversationType;
  title: string | null;
  last_seq: number;
  created_at: Date;
  updated_at: Date;
}

interface ParticipantRow {
  conversation_id: string;
  user_id: string;
  role: ParticipantRole;
  last_read_seq: number;
}

const CONVERSATION_COLUMNS = 'c.id, c.type, c.title, c.last_seq, c.created_at, c.updated_at';
const NOT_FOUND = 'Conversation not found';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Conversations and their participants. Every access check lives here: someone
 * who does not take part gets the same 404 as for a conversation that does not
 * exist; a participant who may not do something gets 403.
 */
@Injectable()
export class ConversationsService {
  private readonly maxGroupSize: number;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly users: UsersService,
    private readonly summaries: MessageSummariesService,
    private readonly presence: PresenceService,
    private readonly events: EventBus,
    config: ConfigService<Environment, true>,
  ) {
    this.maxGroupSize = config.get('GROUP_MAX_PARTICIPANTS', { infer: true });
  }

  // ---- creation ----------------------------------------------------------

  /** The one direct conversation of the pair: created (true) or the existing one (false), even under concurrent creates. */
  async openDirect(callerId: string, participantId: string): Promise<{ view: ConversationView; created: boolean }> {
    if (participantId === callerId) throw new BadRequestException(['participantId must be another user']);
    if (!(await this.users.findById(participantId))) throw new NotFoundException('User not found');

    const directKey = [callerId, participantId].sort().join(':');
    const createdId = await this.writeWithUsers(async (manager) => {
      // The unique direct_key decides: a concurrent create waits for ours and then does nothing.
      const inserted = await queryRows<{ id: string }>(
        manager,
        `INSERT INTO conversations (type, direct_key, created_by) VALUES ('direct', $1, $2)
         ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
        [directKey, callerId],
      );
      if (!inserted.length) return undefined;
      await this.insertParticipants(manager, inserted[0].id, [
        [callerId, 'member'],
        [participantId, 'member'],
      ]);
      return inserted[0].id;
    });

    if (createdId) {
      const view = await this.viewOf(createdId, 'all');
      this.events.publish('conversation.created', { recipients: memberIds(view), conversation: view });
      return { view, created: true };
    }
    const [existing] = await queryRows<{ id: string }>(
      this.dataSource,
      'SELECT id FROM conversations WHERE direct_key = $1',
      [directKey],
    );
    return { view: await this.viewOf(existing.id, [callerId]), created: false };
  }

  async createGroup(callerId: string, title: string, participantIds: string[]): Promise<ConversationView> {
    const others = [...new Set(participantIds)].filter((id) => id !== callerId);
    if (others.length + 1 > this.maxGroupSize) {
      throw new BadRequestException([`a group has at most ${this.maxGroupSize} participants, its owner included`]);
    }
    await this.assertUsersExist(others);
    const id = await this.writeWithUsers(async (manager) => {
      const [row] = await queryRows<{ id: string }>(
        manager,
        `INSERT INTO conversations (type, title, created_by) VALUES ('group', $1, $2) RETURNING id`,
        [title, callerId],
      );
      await this.insertParticipants(manager, row.id, [
        [callerId, 'owner'],
        ...others.map((u) => [u, 'member'] as const),
      ]);
      return row.id;
    });
    const view = await this.viewOf(id, 'all');
    this.events.publish('conversation.created', { recipients: memberIds(view), conversation: view });
    return view;
  }

  // ---- reading -----------------------------------------------------------

  /** The caller's conversations, most recent activity first, by keyset cursor. */
  async list(
    callerId: string,
    limit = CONVERSATION_PAGE_DEFAULT,
    cursor?: string,
  ): Promise<{ views: ConversationView[]; nextCursor: string | null }> {
    const after = cursor === undefined ? undefined : decodeCursor(cursor);
    const rows = await queryRows<ConversationRow & { activity_us: string }>(
      this.dataSource,
      `SELECT ${CONVERSATION_COLUMNS}, (extract(epoch FROM c.updated_at) * 1000000)::bigint AS activity_us
         FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.user_id = $1 AND p.left_at IS NULL
          AND ($2::bigint IS NULL OR ((extract(epoch FROM c.updated_at) * 1000000)::bigint, c.id) < ($2::bigint, $3::uuid))
        ORDER BY c.updated_at DESC, c.id DESC
        LIMIT $4`,
      [callerId, after?.activityUs ?? null, after?.id ?? null, limit + 1],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      views: await this.buildViews(page, () => [callerId]),
      nextCursor: rows.length > limit && last ? encodeCursor(last.activity_us, last.id) : null,
    };
  }

  async get(callerId: string, conversationId: string): Promise<ConversationView> {
    await this.membership(conversationId, callerId);
    return this.viewOf(conversationId, [callerId]);
  }

  /** The caller's role and markers; 404 when the caller does not take part. */
  async membership(
    conversationId: string,
    userId: string,
    manager: EntityManager = this.dataSource.manager,
  ): Promise<Membership> {
    const [row] = await queryRows<{
      type: ConversationType;
      role: ParticipantRole;
      last_seq: number;
      last_read_seq: number;
    }>(
      manager,
      `SELECT c.type, p.role, c.last_seq, p.last_read_seq
         FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.conversation_id = $1 AND p.user_id = $2 AND p.left_at IS NULL`,
      [conversationId, userId],
    );
    if (!row) throw new NotFoundException(NOT_FOUND);
    return { type: row.type, role: row.role, lastSeq: row.last_seq, lastReadSeq: row.last_read_seq };
  }

  /** Current participants: the recipients of an event about the conversation. */
  async memberIds(conversationId: string): Promise<string[]> {
    const rows = await queryRows<{ user_id: string }>(
      this.dataSource,
      'SELECT user_id FROM conversation_participants WHERE conversation_id = $1 AND left_at IS NULL',
      [conversationId],
    );
    return rows.map((r) => r.user_id);
  }

  // ---- membership changes ------------------------------------------------

  /** Owners and admins add members to groups; re-adding someone who left brings them back. */
  async addParticipants(callerId: string, conversationId: string, userIds: string[]): Promise<ConversationView> {
    await this.assertUsersExist(userIds);
    await this.writeWithUsers(async (manager) => {
      await lockConversation(manager, conversationId);
      const caller = await this.membership(conversationId, callerId, manager);
      if (caller.type !== 'group') throw new ForbiddenException('Direct conversations have exactly two participants');
      if (caller.role === 'member') throw new ForbiddenException('Only the owner or an admin can add participants');
      const [{ total }] = await queryRows<{ total: number }>(
        manager,
        `SELECT (SELECT count(*) FROM conversation_participants WHERE conversation_id = $1 AND left_at IS NULL)::int
              + (SELECT count(*) FROM unnest($2::uuid[]) AS u(id)
                  WHERE NOT EXISTS (SELECT 1 FROM conversation_participants p
                                     WHERE p.conversation_id = $1 AND p.user_id = u.id AND p.left_at IS NULL))::int AS total`,
        [conversationId, userIds],
      );
      if (total > this.maxGroupSize)
        throw new ForbiddenException(`A group has at most ${this.maxGroupSize} participants`);
      // New members start with everything read; someone who left rejoins as a member.
      await queryRows(
        manager,
        `INSERT INTO conversation_participants (conversation_id, user_id, role, last_read_seq, last_delivered_seq)
         SELECT $1, u.id, 'member', $3, $3 FROM unnest($2::uuid[]) AS u(id)
         ON CONFLICT (conversation_id, user_id) DO UPDATE
            SET left_at = NULL, role = 'member', joined_at = now(),
                last_read_seq = GREATEST(conversation_participants.last_read_seq, EXCLUDED.last_read_seq)
          WHERE conversation_participants.left_at IS NOT NULL`,
        [conversationId, userIds, caller.lastSeq],
      );
      await touch(manager, conversationId);
    });
    const view = await this.viewOf(conversationId, 'all');
    this.events.publish('conversation.updated', { recipients: memberIds(view), conversation: view });
    return view;
  }

  /**
   * The owner removes a member, or a participant removes itself (leaves). An
   * owner who leaves hands ownership to the longest-standing admin, else member.
   */
  async removeParticipant(callerId: string, conversationId: string, userId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await lockConversation(manager, conversationId);
      const caller = await this.membership(conversationId, callerId, manager);
      if (caller.type !== 'group') throw new ForbiddenException('Direct conversations have exactly two participants');
      if (userId !== callerId && caller.role !== 'owner')
        throw new ForbiddenException('Only the owner can remove participants');
      const removed = await queryRows<{ role: ParticipantRole }>(
        manager,
        `UPDATE conversation_participants SET left_at = now()
          WHERE conversation_id = $1 AND user_id = $2 AND left_at IS NULL RETURNING role`,
        [conversationId, userId],
      );
      if (!removed.length) throw new NotFoundException('Participant not found');
      if (removed[0].role === 'owner') {
        await queryRows(
          manager,
          `UPDATE conversation_participants SET role = 'owner'
            WHERE (conversation_id, user_id) = (
              SELECT conversation_id, user_id FROM conversation_participants
               WHERE conversation_id = $1 AND left_at IS NULL
               ORDER BY (role = 'admin') DESC, joined_at, user_id LIMIT 1)`,
          [conversationId],
        );
      }
      await touch(manager, conversationId);
    });
    const view = await this.viewOf(conversationId, 'all');
    // The removed user hears of it too, so that their devices drop the conversation.
    this.events.publish('conversation.updated', { recipients: [...memberIds(view), userId], conversation: view });
  }

  // ---- read markers ------------------------------------------------------

  /** Moves the caller's read marker forward (never back, never past the last seq). */
  async markRead(callerId: string, conversationId: string, seq: number): Promise<{ lastReadSeq: number }> {
    const moved = await this.moveMarker('last_read_seq', callerId, conversationId, seq);
    if (moved.after > moved.before) {
      this.events.publish('message.read', {
        recipients: await this.memberIds(conversationId),
        conversationId,
        userId: callerId,
        seq: moved.after,
        readAt: moved.at.toISOString(),
      });
    }
    return { lastReadSeq: moved.after };
  }

  /**
   * Moves the caller's delivery marker forward; the senders of the messages it
   * passed (other than the caller) get `message.delivered`.
   */
  async markDelivered(callerId: string, conversationId: string, seq: number): Promise<{ lastDeliveredSeq: number }> {
    const moved = await this.moveMarker('last_delivered_seq', callerId, conversationId, seq);
    if (moved.after > moved.before) {
      const senders = await this.summaries.sendersBetween(conversationId, moved.before, moved.after, callerId);
      if (senders.length) {
        this.events.publish('message.delivered', {
          recipients: senders,
          conversationId,
          userId: callerId,
          seq: moved.after,
        });
      }
    }
    return { lastDeliveredSeq: moved.after };
  }

  /** One statement: a marker only moves forward and never past the last seq; 404 for outsiders. */
  private async moveMarker(
    column: 'last_read_seq' | 'last_delivered_seq',
    callerId: string,
    conversationId: string,
    seq: number,
  ): Promise<{ before: number; after: number; at: Date }> {
    const [row] = await queryRows<{ before: number; after: number; at: Date }>(
      this.dataSource,
      `WITH old AS (
         SELECT p.${column} FROM conversation_participants p
          WHERE p.conversation_id = $1 AND p.user_id = $2 AND p.left_at IS NULL FOR UPDATE)
       UPDATE conversation_participants p
          SET ${column} = GREATEST(p.${column}, LEAST($3::int, c.last_seq))
         FROM conversations c, old
        WHERE c.id = p.conversation_id AND p.conversation_id = $1 AND p.user_id = $2
       RETURNING old.${column} AS before, p.${column} AS after, now() AS at`,
      [conversationId, callerId, seq],
    );
    if (!row) throw new NotFoundException(NOT_FOUND);
    return row;
  }

  /** Everyone who shares at least one conversation with the user: the audience of their presence. */
  async contactsOf(userId: string): Promise<string[]> {
    const rows = await queryRows<{ user_id: string }>(
      this.dataSource,
      `SELECT DISTINCT other.user_id FROM conversation_participants mine
         JOIN conversation_participants other
           ON other.conversation_id = mine.conversation_id AND other.left_at IS NULL AND other.user_id <> mine.user_id
        WHERE mine.user_id = $1 AND mine.left_at IS NULL`,
      [userId],
    );
    return rows.map((r) => r.user_id);
  }

  async unread(callerId: string): Promise<UnreadDto> {
    const memberships = await queryRows<{ conversation_id: string; last_read_seq: number }>(
      this.dataSource,
      `SELECT p.conversation_id, p.last_read_seq FROM conversation_participants p JOIN conversations c ON c.id = p.conversation_id
        WHERE p.user_id = $1 AND p.left_at IS NULL AND c.last_seq > p.last_read_seq`,
      [callerId],
    );
    const counts = await this.summaries.unreadCounts(
      memberships.map((m) => ({ conversationId: m.conversation_id, userId: callerId, afterSeq: m.last_read_seq })),
    );
    const conversations = memberships
      .map((m) => ({
        conversationId: m.conversation_id,
        unreadCount: counts.get(unreadKey(m.conversation_id, callerId)) ?? 0,
      }))
      .filter((c) => c.unreadCount > 0)
      .sort((a, b) => b.unreadCount - a.unreadCount || a.conversationId.localeCompare(b.conversationId));
    return { total: conversations.reduce((sum, c) => sum + c.unreadCount, 0), conversations };
  }

  // ---- views -------------------------------------------------------------

  /** The contract's Conversations for one viewer, with presence as of now (one lookup for the page). */
  async toDtos(views: ConversationView[], viewerId: string): Promise<ConversationDto[]> {
    const presence = await this.presence.getMany([...new Set(views.flatMap((v) => v.participants.map((p) => p.id)))]);
    return views.map((view) => ConversationDto.fromView(view, viewerId, presence));
  }

  async toDto(view: ConversationView, viewerId: string): Promise<ConversationDto> {
    return (await this.toDtos([view], viewerId))[0];
  }

  /** One conversation's view, with unread counts for `unreadFor` (or every participant). */
  private async viewOf(conversationId: string, unreadFor: string[] | 'all'): Promise<ConversationView> {
    const rows = await queryRows<ConversationRow>(
      this.dataSource,
      `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1`,
      [conversationId],
    );
    const [view] = await this.buildViews(rows, (participants) =>
      unreadFor === 'all' ? participants.map((p) => p.id) : unreadFor,
    );
    if (!view) throw new NotFoundException(NOT_FOUND);
    return view;
  }

  /**
   * Views for a page of conversations in a fixed number of queries (participants,
   * their users, last messages with reactions, unread counts), whatever the page size.
   */
  private async buildViews(
    rows: ConversationRow[],
    unreadFor: (participants: ParticipantView[]) => string[],
  ): Promise<ConversationView[]> {
    if (!rows.length) return [];
    const ids = rows.map((r) => r.id);
    const participantRows = await queryRows<ParticipantRow>(
      this.dataSource,
      `SELECT conversation_id, user_id, role, last_read_seq FROM conversation_participants
        WHERE conversation_id = ANY($1::uuid[]) AND left_at IS NULL
        ORDER BY joined_at, user_id`,
      [ids],
    );
    const [users, lastMessages] = await Promise.all([
      this.users.findByIds([...new Set(participantRows.map((p) => p.user_id))]),
      this.summaries.lastMessages(rows.map((r) => ({ conversationId: r.id, seq: r.last_seq }))),
    ]);
    const usersById = new Map(users.map((u) => [u.id, u]));
    const participantsOf = new Map<string, ParticipantView[]>(ids.map((id) => [id, []]));
    for (const p of participantRows) {
      const user = usersById.get(p.user_id);
      if (!user) continue;
      participantsOf.get(p.conversation_id)!.push({
        id: user.id,
        username: user.username,
        displayName: user.displayName,
        role: p.role,
        lastReadSeq: p.last_read_seq,
        lastSeenAt: user.lastSeenAt?.toISOString() ?? null,
      });
    }

    const unreadQueries: UnreadQuery[] = [];
    for (const row of rows) {
      const participants = participantsOf.get(row.id)!;
      for (const userId of unreadFor(participants)) {
        const marker = participants.find((p) => p.id === userId)?.lastReadSeq;
        if (marker !== undefined && marker < row.last_seq) {
          unreadQueries.push({ conversationId: row.id, userId, afterSeq: marker });
        }
      }
    }
    const unread = await this.summaries.unreadCounts(unreadQueries);

    return rows.map((row) => {
      const participants = participantsOf.get(row.id)!;
      const unreadCounts: Record<string, number> = {};
      for (const userId of unreadFor(participants)) unreadCounts[userId] = unread.get(unreadKey(row.id, userId)) ?? 0;
      return {
        id: row.id,
        type: row.type,
        title: row.title,
        participants,
        lastMessage: lastMessages.get(row.id) ?? null,
        lastSeq: row.last_seq,
        createdAt: row.created_at.toISOString(),
        updatedAt: row.updated_at.toISOString(),
        unreadCounts,
      };
    });
  }

  // ---- helpers -----------------------------------------------------------

  /**
   * A transaction that references users checked just before: one deleted in between
   * fails a foreign key, which is the caller's 401 or another user's 404, not a 500.
   */
  private async writeWithUsers<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.dataSource.transaction(work);
    } catch (error) {
      const driverError = databaseError(error);
      if (driverError?.code !== FOREIGN_KEY_VIOLATION) throw error;
      if (driverError.constraint === 'FK_conversations_created_by') throw new UnauthorizedException(USER_GONE);
      if (driverError.constraint === 'FK_participants_user') throw new NotFoundException('User not found');
      throw error;
    }
  }

  private async assertUsersExist(userIds: string[]): Promise<void> {
    if (!userIds.length) return;
    const found = await this.users.findByIds(userIds);
    if (found.length !== new Set(userIds).size) throw new NotFoundException('User not found');
  }

  private async insertParticipants(
    manager: EntityManager,
    conversationId: string,
    members: (readonly [string, ParticipantRole])[],
  ): Promise<void> {
    await queryRows(
      manager,
      `INSERT INTO conversation_participants (conversation_id, user_id, role)
       SELECT $1, u.id, u.role FROM unnest($2::uuid[], $3::varchar[]) AS u(id, role)`,
      [conversationId, members.map(([id]) => id), members.map(([, role]) => role)],
    );
  }
}

/**
 * The seq-taking step of a send, as a CTE named `allocated` (id, seq, member_ids)
 * for the sender's one INSERT statement. It checks that the sender takes part
 * (and `condition`, the caller's own check on the row `c`), takes the next seq
 * under the conversation's row lock, which serialises senders, and returns the
 * participants. One statement is one transaction: if the INSERT fails, no seq is
 * taken, so seqs stay gapless; and a send costs a single round trip.
 */
export function allocateSeqCte(conversation: string, sender: string, condition = 'TRUE'): string {
  return `allocated AS (
    UPDATE conversations c SET last_seq = c.last_seq + 1, updated_at = clock_timestamp()
     WHERE c.id = ${conversation}
       AND EXISTS (SELECT 1 FROM conversation_participants p
                    WHERE p.conversation_id = c.id AND p.user_id = ${sender} AND p.left_at IS NULL)
       AND ${condition}
    RETURNING c.id, c.last_seq AS seq,
              ARRAY(SELECT p.user_id::text FROM conversation_participants p
                     WHERE p.conversation_id = c.id AND p.left_at IS NULL) AS member_ids)`;
}

/**
 * The same for a batch of sends, as CTEs for one INSERT statement.
 * `accepted` is a CTE of the messages to send (conversation_id, ord, ...) already
 * checked (participant, reply target). Their conversations are locked in id order
 * (two batches never wait on each other in a cycle), each takes as many seqs as it
 * has messages, and `numbered` gives every accepted message its seq (in `ord` order
 * within a conversation) and its conversation's participants. One statement is one
 * transaction: if the INSERT fails, no seq is taken, so seqs stay gapless.
 */
export function allocateSeqsCtes(accepted: string): string {
  return `locked AS (
    SELECT c.id FROM conversations c
     WHERE c.id IN (SELECT conversation_id FROM ${accepted})
     ORDER BY c.id FOR UPDATE),
  allocated AS (
    UPDATE conversations c SET last_seq = c.last_seq + n.count, updated_at = clock_timestamp()
      FROM (SELECT l.id, count(*)::int AS count FROM locked l JOIN ${accepted} a ON a.conversation_id = l.id
             GROUP BY l.id) n
     WHERE c.id = n.id
    RETURNING c.id, c.last_seq - n.count AS base,
              ARRAY(SELECT p.user_id::text FROM conversation_participants p
                     WHERE p.conversation_id = c.id AND p.left_at IS NULL) AS member_ids),
  numbered AS (
    SELECT a.*, al.member_ids,
           (al.base + row_number() OVER (PARTITION BY a.conversation_id ORDER BY a.ord))::int AS seq
      FROM ${accepted} a JOIN allocated al ON al.id = a.conversation_id)`;
}

function memberIds(view: ConversationView): string[] {
  return view.participants.map((p) => p.id);
}

/** Serialises membership changes of one conversation (and its sends, which lock the same row). */
async function lockConversation(manager: EntityManager, conversationId: string): Promise<void> {
  const rows = await queryRows(manager, 'SELECT id FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
  if (!rows.length) throw new NotFoundException(NOT_FOUND);
}

async function touch(manager: EntityManager, conversationId: string): Promise<void> {
  await queryRows(manager, 'UPDATE conversations SET updated_at = clock_timestamp() WHERE id = $1', [conversationId]);
}

function encodeCursor(activityUs: string, id: string): string {
  return Buffer.from(`${activityUs}|${id}`).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_BIGINT = 2n ** 63n - 1n;

function decodeCursor(cursor: string): { activityUs: string; id: string } {
  const [activityUs, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const valid =
    !rest.length && /^\d{1,19}$/.test(activityUs ?? '') && BigInt(activityUs) <= MAX_BIGINT && UUID.test(id ?? '');
  if (!valid) throw new BadRequestException(['cursor is not a cursor this server gave out']);
  return { activityUs, id };
}
