import {
  BadRequestException,
  ForbiddenException,
  Injectable,
  NotFoundException,
  UnauthorizedException,
} from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ConversationsConfig } from './conversations.config';
import { databaseError } from '../database/sql';
import { EventBus } from '../events/event-bus';
import { MessageSummariesService, unreadKey, type UnreadQuery } from '../messages/message-summaries.service';
import { PresenceService } from '../presence/presence.service';
import { USER_GONE, UsersService } from '../users/users.service';
import {
  ConversationQueries,
  ConversationRepository,
  type ActivityCursor,
  type ConversationRow,
  type MarkerColumn,
  type MovedMarker,
} from './conversation.repository';
import type { ConversationType, ConversationView, ParticipantRole, ParticipantView } from '../contracts/views';
import { ConversationDto, type UnreadDto } from './dto/conversation.dto';

export const CONVERSATION_PAGE_DEFAULT = 20;

export interface Membership {
  type: ConversationType;
  role: ParticipantRole;
  lastSeq: number;
  lastReadSeq: number;
}

const NOT_FOUND = 'Conversation not found';
const FOREIGN_KEY_VIOLATION = '23503';

/**
 * Conversations and their participants: the rules, with every query in
 * ConversationRepository. The access checks live here and say that they throw:
 * someone who does not take part gets the same 404 as for a conversation that
 * does not exist (`requireMembership`); a participant who may not do something
 * gets 403.
 */
@Injectable()
export class ConversationsService {
  private readonly maxGroupSize: number;

  constructor(
    private readonly repository: ConversationRepository,
    private readonly users: UsersService,
    private readonly summaries: MessageSummariesService,
    private readonly presence: PresenceService,
    private readonly events: EventBus,
    config: ConfigService<ConversationsConfig, true>,
  ) {
    this.maxGroupSize = config.get('GROUP_MAX_PARTICIPANTS', { infer: true });
  }

  // ---- creation ----------------------------------------------------------

  /** The one direct conversation of the pair: created (true) or the existing one (false), even under concurrent creates. */
  async openDirect(callerId: string, participantId: string): Promise<{ view: ConversationView; created: boolean }> {
    if (participantId === callerId) throw new BadRequestException(['participantId must be another user']);
    if (!(await this.users.findById(participantId))) throw new NotFoundException('User not found');

    const directKey = [callerId, participantId].sort().join(':');
    const created = await this.writeWithUsers(async (tx) => {
      // The unique direct_key decides: a concurrent create waits for ours and then does nothing.
      const id = await tx.insertDirect(directKey, callerId);
      if (!id) return undefined;
      await tx.insertParticipants(id, [
        [callerId, 'member'],
        [participantId, 'member'],
      ]);
      return { id, change: (await tx.changeMark(id))! };
    });

    if (created) {
      const view = await this.viewOf(created.id, 'all');
      this.events.publish('conversation.created', {
        recipients: memberIds(view),
        change: created.change,
        conversation: view,
      });
      return { view, created: true };
    }
    const existing = (await this.repository.findDirectId(directKey))!;
    return { view: await this.viewOf(existing, [callerId]), created: false };
  }

  async createGroup(callerId: string, title: string, participantIds: string[]): Promise<ConversationView> {
    const others = [...new Set(participantIds)].filter((id) => id !== callerId);
    if (others.length + 1 > this.maxGroupSize) {
      throw new BadRequestException([`a group has at most ${this.maxGroupSize} participants, its owner included`]);
    }
    await this.assertUsersExist(others);
    const { id, change } = await this.writeWithUsers(async (tx) => {
      const id = await tx.insertGroup(title, callerId);
      await tx.insertParticipants(id, [[callerId, 'owner'], ...others.map((u) => [u, 'member'] as const)]);
      return { id, change: (await tx.changeMark(id))! };
    });
    const view = await this.viewOf(id, 'all');
    this.events.publish('conversation.created', { recipients: memberIds(view), change, conversation: view });
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
    const rows = await this.repository.pageForUser(callerId, after, limit);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      views: await this.buildViews(page, () => [callerId]),
      nextCursor: rows.length > limit && last ? encodeCursor(last.activity_us, last.id) : null,
    };
  }

  async get(callerId: string, conversationId: string): Promise<ConversationView> {
    await this.requireMembership(conversationId, callerId);
    return this.viewOf(conversationId, [callerId]);
  }

  /** The caller's role and markers. Throws 404 when the caller does not take part (or it does not exist). */
  requireMembership(conversationId: string, userId: string): Promise<Membership> {
    return requireMembershipIn(this.repository, conversationId, userId);
  }

  /** Which of these conversations the user takes part in: one query for any number (search, sync). */
  async checkMembership(userId: string, conversationIds: readonly string[]): Promise<Set<string>> {
    if (!conversationIds.length) return new Set();
    return new Set(await this.repository.memberOf(userId, [...new Set(conversationIds)]));
  }

  /** Current participants: the recipients of an event about the conversation. */
  memberIds(conversationId: string): Promise<string[]> {
    return this.repository.memberIds(conversationId);
  }

  // ---- membership changes ------------------------------------------------

  /** Owners and admins add members to groups; re-adding someone who left brings them back. */
  async addParticipants(callerId: string, conversationId: string, userIds: string[]): Promise<ConversationView> {
    await this.assertUsersExist(userIds);
    const change = await this.writeWithUsers(async (tx) => {
      await lockConversation(tx, conversationId);
      const caller = await requireMembershipIn(tx, conversationId, callerId);
      if (caller.type !== 'group') throw new ForbiddenException('Direct conversations have exactly two participants');
      if (caller.role === 'member') throw new ForbiddenException('Only the owner or an admin can add participants');
      if ((await tx.sizeWith(conversationId, userIds)) > this.maxGroupSize)
        throw new ForbiddenException(`A group has at most ${this.maxGroupSize} participants`);
      // New members start with everything read; someone who left rejoins as a member.
      await tx.addMembers(conversationId, userIds, caller.lastSeq);
      await tx.touch(conversationId);
      return tx.changeMark(conversationId);
    });
    const view = await this.viewOf(conversationId, 'all');
    // Adding only members who are there already changes nothing.
    if (change)
      this.events.publish('conversation.updated', { recipients: memberIds(view), change, conversation: view });
    return view;
  }

  /**
   * The owner removes a member, or a participant removes itself (leaves). An
   * owner who leaves hands ownership to the longest-standing admin, else member.
   */
  async removeParticipant(callerId: string, conversationId: string, userId: string): Promise<void> {
    const change = await this.repository.transaction(async (tx) => {
      await lockConversation(tx, conversationId);
      const caller = await requireMembershipIn(tx, conversationId, callerId);
      if (caller.type !== 'group') throw new ForbiddenException('Direct conversations have exactly two participants');
      if (userId !== callerId && caller.role !== 'owner')
        throw new ForbiddenException('Only the owner can remove participants');
      const role = await tx.markLeft(conversationId, userId);
      if (!role) throw new NotFoundException('Participant not found');
      if (role === 'owner') await tx.handOverOwnership(conversationId);
      await tx.touch(conversationId);
      return (await tx.changeMark(conversationId))!;
    });
    const view = await this.viewOf(conversationId, 'all');
    // The removed user hears of it too, so that their devices drop the conversation.
    this.events.publish('conversation.updated', {
      recipients: [...memberIds(view), userId],
      change,
      conversation: view,
    });
  }

  // ---- read markers ------------------------------------------------------

  /** Moves the caller's read marker forward (never back, never past the last seq). */
  async markRead(callerId: string, conversationId: string, seq: number): Promise<{ lastReadSeq: number }> {
    const moved = await this.moveMarker('last_read_seq', callerId, conversationId, seq);
    if (moved.after > moved.before) {
      this.events.publish('message.read', {
        recipients: moved.memberIds,
        change: moved.change,
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
      // Receipts go to senders who still take part.
      const recipients = senders.filter((id) => moved.memberIds.includes(id));
      if (recipients.length) {
        this.events.publish('message.delivered', {
          recipients,
          change: moved.change,
          conversationId,
          userId: callerId,
          seq: moved.after,
        });
      }
    }
    return { lastDeliveredSeq: moved.after };
  }

  /** A marker only moves forward and never past the last seq; 404 for outsiders. */
  private async moveMarker(
    column: MarkerColumn,
    callerId: string,
    conversationId: string,
    seq: number,
  ): Promise<MovedMarker> {
    const moved = await this.repository.moveMarker(column, callerId, conversationId, seq);
    if (!moved) throw new NotFoundException(NOT_FOUND);
    return moved;
  }

  /** Everyone who shares at least one conversation with the user: the audience of their presence. */
  contactsOf(userId: string): Promise<string[]> {
    return this.repository.contactsOf(userId);
  }

  async unread(callerId: string): Promise<UnreadDto> {
    const memberships = await this.repository.unreadMemberships(callerId);
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

  // ---- sync --------------------------------------------------------------

  /** Every conversation the user takes part in, as the user sees it (a sync bootstrap), most recent first. */
  async allFor(userId: string): Promise<ConversationDto[]> {
    const views: ConversationView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list(userId, 500, cursor);
      views.push(...page.views);
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return this.toDtos(views, userId);
  }

  /**
   * These conversations as the viewer sees them now, by id, whether or not the viewer still
   * takes part (a sync renders its log entries with it; the caller checked the viewer's right).
   */
  async viewsFor(conversationIds: readonly string[], viewerId: string): Promise<Map<string, ConversationDto>> {
    return (await this.viewsForEach(conversationIds, [viewerId])).get(viewerId)!;
  }

  /** The same for several viewers at once, in the same fixed number of queries (live repair, LogFollower). */
  async viewsForEach(
    conversationIds: readonly string[],
    viewerIds: readonly string[],
  ): Promise<Map<string, Map<string, ConversationDto>>> {
    const byViewer = new Map(viewerIds.map((id) => [id, new Map<string, ConversationDto>()]));
    if (!conversationIds.length || !viewerIds.length) return byViewer;
    const rows = await this.repository.findByIds([...new Set(conversationIds)]);
    const views = await this.buildViews(rows, () => [...viewerIds]);
    const presence = await this.presence.getMany([...new Set(views.flatMap((v) => v.participants.map((p) => p.id)))]);
    for (const [viewerId, dtos] of byViewer) {
      for (const view of views) dtos.set(view.id, ConversationDto.fromView(view, viewerId, presence));
    }
    return byViewer;
  }

  /** Current participants of each conversation: one query for any number. */
  async memberIdsOf(conversationIds: readonly string[]): Promise<Map<string, string[]>> {
    const members = new Map(conversationIds.map((id) => [id, [] as string[]]));
    if (!conversationIds.length) return members;
    for (const row of await this.repository.participantsOf([...new Set(conversationIds)])) {
      members.get(row.conversation_id)?.push(row.user_id);
    }
    return members;
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
    const rows = await this.repository.findByIds([conversationId]);
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
    const participantRows = await this.repository.participantsOf(ids);
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
  private async writeWithUsers<T>(work: (tx: ConversationQueries) => Promise<T>): Promise<T> {
    try {
      return await this.repository.transaction(work);
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
}

async function requireMembershipIn(
  queries: ConversationQueries,
  conversationId: string,
  userId: string,
): Promise<Membership> {
  const row = await queries.membership(conversationId, userId);
  if (!row) throw new NotFoundException(NOT_FOUND);
  return { type: row.type, role: row.role, lastSeq: row.last_seq, lastReadSeq: row.last_read_seq };
}

/** Serialises membership changes of one conversation (and its sends, which lock the same row). */
async function lockConversation(tx: ConversationQueries, conversationId: string): Promise<void> {
  if (!(await tx.lock(conversationId))) throw new NotFoundException(NOT_FOUND);
}

function memberIds(view: ConversationView): string[] {
  return view.participants.map((p) => p.id);
}

function encodeCursor(activityUs: string, id: string): string {
  return Buffer.from(`${activityUs}|${id}`).toString('base64url');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_BIGINT = 2n ** 63n - 1n;

function decodeCursor(cursor: string): ActivityCursor {
  const [activityUs, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const valid =
    !rest.length && /^\d{1,19}$/.test(activityUs ?? '') && BigInt(activityUs) <= MAX_BIGINT && UUID.test(id ?? '');
  if (!valid) throw new BadRequestException(['cursor is not a cursor this server gave out']);
  return { activityUs, id };
}
