import { OnModuleDestroy, OnModuleInit, UseFilters, UseGuards } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import {
  ConnectedSocket,
  MessageBody,
  OnGatewayConnection,
  OnGatewayDisconnect,
  SubscribeMessage,
  WebSocketGateway,
} from '@nestjs/websockets';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AccessTokenService, bearerToken, type AuthenticatedUser } from '../auth/access-token.service';
import type { RealtimeConfig } from './realtime.config';
import type { DomainEventOf } from '../events/domain-events';
import { OnDomainEvent } from '../events/on-domain-event.decorator';
import { DrainState } from '../health/drain.service';
import { ConversationsService } from '../conversations/conversations.service';
import { MessageDto } from '../messages/dto/message.dto';
import { MessagesService } from '../messages/messages.service';
import { PresenceService } from '../presence/presence.service';
import { RateLimit, RateLimiterService } from '../rate-limit/rate-limiter.service';
import { USER_GONE, UsersService } from '../users/users.service';
import { Connection } from './connection';
import { FanoutService, type ConversationMessageEvent } from './fanout.service';
import { ConnectionRegistry } from './connection-registry.service';
import { AuthDto, SendMessageFrameDto, SeqMarkerDto, TypingDto } from './dto/client-events.dto';
import type { FrameGate } from './parley-ws.adapter';
import { RealtimeMetrics } from './realtime.metrics';
import { TypingService } from './typing.service';
import { WsAuthGuard } from './ws-auth.guard';
import { wsError, WsErrorFilter } from './ws-error.filter';
import { CLOSE_CODES, ERROR_CODES, frame } from './ws-protocol';

type Reply<E extends string, D> = { event: E; data: D };

const FLOOD_CLOSE_FACTOR = 10;

/**
 * The WebSocket at /ws (contract §6). Thin: it authenticates sockets, keeps
 * them in the registry and hands client events to the same services as REST.
 * Its @OnDomainEvent methods list every push; FanoutService renders and writes them.
 */
@WebSocketGateway({ path: '/ws' })
@UseGuards(WsAuthGuard)
@UseFilters(WsErrorFilter)
export class RealtimeGateway
  implements OnGatewayConnection, OnGatewayDisconnect, OnModuleInit, OnModuleDestroy, FrameGate
{
  readonly maxFrameBytes: number;
  private readonly maxPerUser: number;
  private readonly heartbeatMs: number;
  private readonly frameLimit: RateLimit;
  private heartbeat?: NodeJS.Timeout;
  private unsubscribeDeletions?: () => void;
  private closing = false;

  constructor(
    private readonly tokens: AccessTokenService,
    private readonly registry: ConnectionRegistry,
    private readonly presence: PresenceService,
    private readonly typing: TypingService,
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly limiter: RateLimiterService,
    private readonly users: UsersService,
    private readonly drain: DrainState,
    private readonly fanout: FanoutService,
    private readonly metrics: RealtimeMetrics,
    config: ConfigService<RealtimeConfig, true>,
  ) {
    this.maxFrameBytes = config.get('WS_MAX_FRAME_BYTES', { infer: true });
    this.maxPerUser = config.get('MAX_CONNECTIONS_PER_USER', { infer: true });
    this.heartbeatMs = config.get('WS_HEARTBEAT_MS', { infer: true });
    this.frameLimit = { limit: config.get('RATE_WS_PER_SEC', { infer: true }), windowMs: 1_000 };
  }

  // ---- lifecycle ---------------------------------------------------------

  onModuleInit(): void {
    this.heartbeat = setInterval(() => this.beat(), this.heartbeatMs).unref();
    this.unsubscribeDeletions = this.users.onDeleted((userId) => this.closeSocketsOf(userId));
  }

  /** A deleted user's sockets: error unauthorized, then 4401, as for a token that went bad. */
  private closeSocketsOf(userId: string): void {
    for (const connection of [...(this.registry.socketsOf(userId) ?? [])]) {
      this.registry.send(connection, frame('error', { code: ERROR_CODES.unauthorized, message: USER_GONE }));
      connection.socket.close(CLOSE_CODES.unauthorized, 'unauthorized');
    }
  }

  /** Shutdown, before HTTP and the database close: no new sockets, the open ones closed with 1001. */
  onModuleDestroy(): void {
    this.closing = true;
    this.unsubscribeDeletions?.();
    clearInterval(this.heartbeat);
    for (const connection of [...this.registry.all()])
      connection.socket.close(CLOSE_CODES.goingAway, 'server shutting down');
  }

  /**
   * Registers the socket at once (its frames wait for `ready`), then takes a
   * presence slot: MAX_CONNECTIONS_PER_USER holds for the whole cluster with
   * Redis. Only then is `connected` sent.
   */
  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    if (this.closing || this.drain.draining) {
      socket.close(CLOSE_CODES.goingAway, 'server shutting down');
      return;
    }
    let auth: AuthenticatedUser;
    try {
      auth = this.tokens.verify(tokenOf(request) ?? '');
    } catch {
      socket.close(CLOSE_CODES.unauthorized, 'unauthorized');
      return;
    }
    const connection = new Connection(socket, auth.userId, auth.expiresAt);
    this.registry.add(connection);
    connection.ready = this.admitConnection(connection);
  }

  handleDisconnect(socket: WebSocket): void {
    const connection = this.registry.remove(socket);
    if (!connection) return;
    this.limiter.reset(frameKey(connection));
    if (!this.registry.countOf(connection.userId)) this.typing.stopAll(connection.userId);
    if (connection.presenceSlot) this.presence.release(connection.userId, connection.presenceSlot);
    this.updateGauges();
  }

  /** The adapter holds a socket's frames until this resolves. */
  ready(socket: WebSocket): Promise<boolean> {
    return this.registry.get(socket)?.ready ?? Promise.resolve(false);
  }

  describe(socket: WebSocket): { connectionId: string; userId: string } | undefined {
    const connection = this.registry.get(socket);
    return connection && { connectionId: connection.id, userId: connection.userId };
  }

  private async admitConnection(connection: Connection): Promise<boolean> {
    const { socket, userId } = connection;
    let exists: boolean;
    try {
      exists = await this.users.exists(userId);
    } catch {
      // The database is unavailable (logged once by DatabaseAvailability): come back later.
      this.registry.remove(socket);
      socket.close(CLOSE_CODES.tryAgainLater, 'unavailable');
      return false;
    }
    if (!exists) {
      this.registry.remove(socket);
      socket.close(CLOSE_CODES.unauthorized, 'unauthorized');
      return false;
    }
    const slot = await this.presence.acquire(userId, this.maxPerUser);
    if (!slot) {
      this.registry.remove(socket);
      socket.close(CLOSE_CODES.tooManyConnections, 'too_many_connections');
      return false;
    }
    if (!this.registry.get(socket) || socket.readyState !== socket.OPEN) {
      // Gone while we waited: give the slot back.
      this.presence.release(userId, slot);
      return false;
    }
    connection.presenceSlot = slot;
    this.scheduleExpiry(connection);
    socket.on('pong', () => (connection.alive = true));
    this.registry.send(
      connection,
      frame('connected', {
        userId,
        connectionId: connection.id,
        serverTime: new Date().toISOString(),
        heartbeatMs: this.heartbeatMs,
      }),
    );
    this.updateGauges();
    return true;
  }

  /**
   * Per-socket frame limit: refused frames get `rate_limited` (a second's worth of
   * them), are then dropped in silence, and a socket that keeps flooding far past
   * it (ten seconds' worth of refused frames in a row) is closed with 1008.
   */
  admit(socket: WebSocket): 'ok' | 'limited' | 'drop' | 'close' | 'ignore' {
    const connection = this.registry.get(socket);
    if (!connection) return 'ignore';
    this.metrics.framesIn.inc();
    if (this.limiter.consume(frameKey(connection), this.frameLimit).allowed) {
      connection.floodStrikes = 0;
      return 'ok';
    }
    connection.floodStrikes += 1;
    if (connection.floodStrikes > FLOOD_CLOSE_FACTOR * this.frameLimit.limit) return 'close';
    return connection.floodStrikes > this.frameLimit.limit ? 'drop' : 'limited';
  }

  // ---- pushes: every domain event that reaches clients (rendered and written by FanoutService)

  @OnDomainEvent('message.created')
  pushMessageCreated(event: DomainEventOf<'message.created'>): void {
    this.fanout.messageCreated(event);
  }

  @OnDomainEvent('message.updated', 'message.deleted', 'message.read', 'message.delivered', 'reaction.updated')
  pushMessageChange(event: DomainEventOf<ConversationMessageEvent>): void {
    this.fanout.behindHeldMessages(event);
  }

  @OnDomainEvent('conversation.created', 'conversation.updated')
  pushConversation(event: DomainEventOf<'conversation.created' | 'conversation.updated'>): void {
    this.fanout.conversation(event);
  }

  @OnDomainEvent('typing', 'presence')
  pushEphemeral(event: DomainEventOf<'typing' | 'presence'>): void {
    this.fanout.now(event);
  }

  // ---- client events -----------------------------------------------------

  @SubscribeMessage('ping')
  ping(): Reply<'pong', { serverTime: string }> {
    return { event: 'pong', data: { serverTime: new Date().toISOString() } };
  }

  @SubscribeMessage('auth')
  auth(@ConnectedSocket() socket: WebSocket, @MessageBody() body: AuthDto): Reply<'auth.ok', { expiresAt: string }> {
    const connection = this.connectionOf(socket);
    let auth: AuthenticatedUser;
    try {
      auth = this.tokens.verify(body.token);
    } catch {
      throw wsError(ERROR_CODES.unauthorized, 'Invalid or expired access token');
    }
    if (auth.userId !== connection.userId) throw wsError(ERROR_CODES.unauthorized, 'The token belongs to another user');
    connection.expiresAt = auth.expiresAt;
    this.scheduleExpiry(connection);
    return { event: 'auth.ok', data: { expiresAt: auth.expiresAt.toISOString() } };
  }

  @SubscribeMessage('typing')
  async onTyping(@ConnectedSocket() socket: WebSocket, @MessageBody() body: TypingDto): Promise<void> {
    await this.typing.set(this.connectionOf(socket).userId, body.conversationId, body.isTyping);
  }

  @SubscribeMessage('read')
  async read(
    @ConnectedSocket() socket: WebSocket,
    @MessageBody() body: SeqMarkerDto,
  ): Promise<Reply<'read.ok', { conversationId: string; lastReadSeq: number }>> {
    const { lastReadSeq } = await this.conversations.markRead(
      this.connectionOf(socket).userId,
      body.conversationId,
      body.seq,
    );
    return { event: 'read.ok', data: { conversationId: body.conversationId, lastReadSeq } };
  }

  @SubscribeMessage('delivered')
  async delivered(@ConnectedSocket() socket: WebSocket, @MessageBody() body: SeqMarkerDto): Promise<void> {
    await this.conversations.markDelivered(this.connectionOf(socket).userId, body.conversationId, body.seq);
  }

  @SubscribeMessage('message.send')
  async send(
    @ConnectedSocket() socket: WebSocket,
    @MessageBody() body: SendMessageFrameDto,
  ): Promise<Reply<'message.ack', { clientMessageId: string; message: MessageDto }>> {
    const userId = this.connectionOf(socket).userId;
    const { message } = await this.messages.send(userId, body.conversationId, {
      content: body.content,
      clientMessageId: body.clientMessageId,
      replyToId: body.replyToId,
    });
    return {
      event: 'message.ack',
      data: { clientMessageId: body.clientMessageId, message: MessageDto.fromView(message, userId) },
    };
  }

  // ---- helpers -----------------------------------------------------------

  private connectionOf(socket: WebSocket): Connection {
    const connection = this.registry.get(socket);
    if (!connection) throw wsError(ERROR_CODES.unauthorized, 'Not authenticated');
    return connection;
  }

  /** At expiry, unless `auth` renewed it: error token_expired, then close 4401. */
  private scheduleExpiry(connection: Connection): void {
    clearTimeout(connection.expiryTimer);
    connection.expiryTimer = setTimeout(
      () => {
        this.registry.send(
          connection,
          frame('error', {
            code: ERROR_CODES.tokenExpired,
            message: 'Access token expired: send auth with a fresh token',
          }),
        );
        connection.socket.close(CLOSE_CODES.unauthorized, 'token_expired');
      },
      Math.max(0, connection.expiresAt.getTime() - Date.now()),
    );
    connection.expiryTimer.unref();
  }

  /** Protocol-level ping; a socket that did not answer the previous one is terminated. */
  private beat(): void {
    for (const connection of this.registry.all()) {
      if (!connection.alive) {
        connection.socket.terminate();
        continue;
      }
      connection.alive = false;
      connection.socket.ping();
    }
  }

  private updateGauges(): void {
    this.metrics.connections.set(this.registry.size);
    this.metrics.onlineUsers.set(this.presence.onlineCount);
  }
}

/** `?token=` (browsers) or `Authorization: Bearer` (servers). */
function tokenOf(request: IncomingMessage): string | undefined {
  const query = new URL(request.url ?? '/', 'ws://localhost').searchParams.get('token');
  return query || bearerToken(request.headers.authorization);
}

function frameKey(connection: Connection): string {
  return `ws:${connection.id}`;
}
