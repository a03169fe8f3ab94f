import { GoneException, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { AuthConfig } from '../auth/auth.config';
import { Clock } from '../common/clock';
import { inOneSnapshot } from '../database/sql';
import { ConversationsService } from '../conversations/conversations.service';
import type { MessageView } from '../contracts/views';
import type { ConversationDto } from '../conversations/dto/conversation.dto';
import { MessageDto, ReactionDto } from '../messages/dto/message.dto';
import { MessageSummariesService } from '../messages/message-summaries.service';
import { ChangeLogRepository, type ChangeRow, type LogPoint } from './change-log.repository';
import type { SyncBootstrapDto, SyncChangeDto, SyncPageDto } from './dto/sync.dto';
import type { SyncConfig } from './sync.config';
import { SyncTokens, type SyncPosition } from './sync-token';

/** The code of a 410 (and of the socket's error): the client bootstraps again (GET /sync without `since`). */
export const RESYNC_REQUIRED = 'resync_required';

/** A resume's page: small enough to stay far below WS_MAX_BUFFERED_BYTES while it is written. */
const REPLAY_PAGE = 500;
const PRUNE_EVERY_MS = 60_000;
/** Kept beyond the retention: a change written just before a token was taken may commit after it. */
const PRUNE_MARGIN_MS = 60_000;

/**
 * One sync cursor per user over the change log (migrations/1796600000000-CreateChangeLog.ts):
 * a bootstrap (every conversation, and a token for that state), then the changes since a
 * token, exactly once, page by page. Reads run in one snapshot (inOneSnapshot), so what a
 * response says and the token it gives agree.
 */
@Injectable()
export class SyncService implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Sync');
  private readonly tokens: SyncTokens;
  private readonly retentionMs?: number;
  private pruner?: NodeJS.Timeout;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly log: ChangeLogRepository,
    private readonly conversations: ConversationsService,
    private readonly summaries: MessageSummariesService,
    private readonly clock: Clock,
    config: ConfigService<AuthConfig & SyncConfig, true>,
  ) {
    this.tokens = new SyncTokens(config.get('JWT_SECRET', { infer: true })!);
    this.retentionMs = config.get('SYNC_RETENTION_MS', { infer: true });
  }

  onModuleInit(): void {
    if (this.retentionMs === undefined) return;
    const retention = this.retentionMs;
    this.pruner = setInterval(() => {
      this.log.prune(retention + PRUNE_MARGIN_MS).then(
        (deleted) => deleted && this.logger.log({ deleted }, 'pruned changes past SYNC_RETENTION_MS'),
        (error: unknown) => this.logger.warn({ err: error }, 'pruning the change log failed; retrying later'),
      );
    }, PRUNE_EVERY_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.pruner);
  }

  // ---- for the live path (realtime/log-follower.service.ts) -----------------

  point(): Promise<LogPoint> {
    return this.log.point();
  }

  /** Every change of any conversation since `lo`, up to `hi` (both points of the log). */
  changesBetween(lo: LogPoint, hi: LogPoint): Promise<(ChangeRow & { xid: string })[]> {
    return this.log.between(lo, hi);
  }

  audienceOf(rows: readonly ChangeRow[], userIds: readonly string[]): Promise<Map<string, string[]>> {
    return this.log.audienceOf(rows, userIds);
  }

  async bootstrap(userId: string): Promise<SyncBootstrapDto> {
    return inOneSnapshot(this.dataSource, async (db) => {
      const lo = await this.log.snapshot(db);
      const loAt = this.clock.now();
      const conversations = await this.conversations.allFor(userId);
      return { conversations, token: this.tokens.encode({ user: userId, lo, loAt }), hasMore: false };
    });
  }

  /**
   * Every change since `since`, page by page to `deliver` (awaited before the next page),
   * for a socket's resume: the token to keep, and the snapshot it stands for (changes
   * visible in it were replayed or were in `since` already).
   */
  async replay(
    userId: string,
    since: string,
    deliver: (changes: SyncChangeDto[]) => Promise<void>,
  ): Promise<{ token: string; snapshot: string }> {
    let token = since;
    for (;;) {
      const page = await this.since(userId, token, REPLAY_PAGE);
      await deliver(page.changes);
      token = page.token;
      if (!page.hasMore) return { token, snapshot: this.tokens.decode(token, userId)!.lo };
    }
  }

  async since(userId: string, token: string, limit: number): Promise<SyncPageDto> {
    const position = this.tokens.decode(token, userId);
    if (!position) throw resyncRequired('The token is not one this server gave to this user');
    if (this.retentionMs !== undefined && this.clock.now() - position.loAt > this.retentionMs) {
      throw resyncRequired('The token is older than SYNC_RETENTION_MS: changes since then are gone');
    }
    return inOneSnapshot(this.dataSource, async (db) => {
      const hi = position.hi ?? (await this.log.snapshot(db));
      const hiAt = position.hiAt ?? this.clock.now();
      const rows = await this.log.page(db, userId, position.lo, hi, position.after, limit + 1);
      const hasMore = rows.length > limit;
      const page = rows.slice(0, limit);
      const last = page[page.length - 1];
      const next: SyncPosition = hasMore
        ? {
            user: userId,
            lo: position.lo,
            loAt: position.loAt,
            hi,
            hiAt,
            after: { conversationId: last.conversation_id, pos: last.pos },
          }
        : { user: userId, lo: hi, loAt: hiAt };
      const changes = (await this.render(page, [userId])).get(userId)!;
      return { changes, token: this.tokens.encode(next), hasMore };
    });
  }

  /**
   * Log entries as the WebSocket's events, for each viewer, with what they name as it is
   * now: a fixed number of queries whatever the number of rows and viewers.
   */
  async render(rows: ChangeRow[], viewerIds: readonly string[]): Promise<Map<string, SyncChangeDto[]>> {
    const messageIds = rows.filter((r) => r.message_id && r.kind !== 'message.deleted').map((r) => r.message_id!);
    const conversationIds = rows
      .filter((r) => r.kind === 'conversation.created' || r.kind.startsWith('participant.'))
      .map((r) => r.conversation_id);
    const [messages, conversations] = await Promise.all([
      this.summaries.viewsOf(messageIds),
      this.conversations.viewsForEach(conversationIds, viewerIds),
    ]);
    const rendered = new Map<string, SyncChangeDto[]>();
    for (const viewerId of viewerIds) {
      const changes: SyncChangeDto[] = [];
      for (const row of rows) {
        const change = renderChange(row, viewerId, messages, conversations.get(viewerId)!);
        if (change) changes.push(change);
      }
      rendered.set(viewerId, changes);
    }
    return rendered;
  }
}

function renderChange(
  row: ChangeRow,
  viewerId: string,
  messages: Map<string, MessageView>,
  conversations: Map<string, ConversationDto>,
): SyncChangeDto | undefined {
  const base = { conversationId: row.conversation_id, pos: Number(row.pos) };
  const conversationId = row.conversation_id;
  switch (row.kind) {
    case 'message.created':
    case 'message.updated': {
      const message = messages.get(row.message_id!);
      return message && { ...base, event: row.kind, data: { ...MessageDto.fromView(message, viewerId) } };
    }
    case 'message.deleted':
      return { ...base, event: row.kind, data: { conversationId, messageId: row.message_id, seq: row.seq } };
    case 'reaction.updated': {
      const reactions = ReactionDto.fromViews(messages.get(row.message_id!)?.reactions ?? [], viewerId);
      return { ...base, event: row.kind, data: { conversationId, messageId: row.message_id, reactions } };
    }
    case 'message.read':
      return {
        ...base,
        event: row.kind,
        data: { conversationId, userId: row.user_id, seq: row.seq, readAt: row.at.toISOString() },
      };
    case 'message.delivered':
      return { ...base, event: row.kind, data: { conversationId, userId: row.user_id, seq: row.seq } };
    case 'conversation.created':
    case 'participant.added':
    case 'participant.removed': {
      const conversation = conversations.get(conversationId);
      const event = row.kind === 'conversation.created' ? 'conversation.created' : 'conversation.updated';
      return conversation && { ...base, event, data: { ...conversation } };
    }
  }
}

function resyncRequired(message: string): GoneException {
  return new GoneException({ statusCode: 410, error: 'Gone', code: RESYNC_REQUIRED, message });
}
