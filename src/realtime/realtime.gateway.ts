import { UseFilters, UseGuards } from '@nestjs/common';
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
import { ConversationsService } from '../conversations/conversations.service';
import type { DomainEventOf } from '../events/domain-events';
import { OnDomainEvent } from '../events/on-domain-event.decorator';
import { MessageDto } from '../messages/dto/message.dto';
import { MessagesService } from '../messages/messages.service';
import { ConnectionManager } from './connection-manager.service';
import { AuthDto, SendMessageFrameDto, SeqMarkerDto, SyncFrameDto, TypingDto } from './dto/client-events.dto';
import { FanoutService, type ConversationMessageEvent } from './fanout.service';
import { ResumeService } from './resume.service';
import { TypingService } from './typing.service';
import { WsAuthGuard } from './ws-auth.guard';
import { WsErrorFilter } from './ws-error.filter';

type Reply<E extends string, D> = { event: E; data: D };

/**
 * The WebSocket at /ws (docs/protocol.md §8), as one file that lists every event that
 * comes in (the @SubscribeMessage handlers, which call the same services as REST)
 * and every push that goes out (the @OnDomainEvent handlers, which FanoutService
 * renders and writes). Sockets themselves, from handshake to close, are the
 * ConnectionManager's.
 */
@WebSocketGateway({ path: '/ws' })
@UseGuards(WsAuthGuard)
@UseFilters(WsErrorFilter)
export class RealtimeGateway implements OnGatewayConnection, OnGatewayDisconnect {
  constructor(
    private readonly connections: ConnectionManager,
    private readonly typing: TypingService,
    private readonly conversations: ConversationsService,
    private readonly messages: MessagesService,
    private readonly fanout: FanoutService,
    private readonly resume: ResumeService,
  ) {}

  handleConnection(socket: WebSocket, request: IncomingMessage): void {
    this.connections.open(socket, request);
  }

  handleDisconnect(socket: WebSocket): void {
    this.connections.closed(socket);
  }

  // ---- client events -----------------------------------------------------

  @SubscribeMessage('ping')
  ping(): Reply<'pong', { serverTime: string }> {
    return { event: 'pong', data: { serverTime: new Date().toISOString() } };
  }

  @SubscribeMessage('auth')
  auth(@ConnectedSocket() socket: WebSocket, @MessageBody() body: AuthDto): Reply<'auth.ok', { expiresAt: string }> {
    const expiresAt = this.connections.renew(socket, body.token);
    return { event: 'auth.ok', data: { expiresAt: expiresAt.toISOString() } };
  }

  @SubscribeMessage('typing')
  async onTyping(@ConnectedSocket() socket: WebSocket, @MessageBody() body: TypingDto): Promise<void> {
    await this.typing.set(this.connections.connectionOf(socket).userId, body.conversationId, body.isTyping);
  }

  @SubscribeMessage('read')
  async read(
    @ConnectedSocket() socket: WebSocket,
    @MessageBody() body: SeqMarkerDto,
  ): Promise<Reply<'read.ok', { conversationId: string; lastReadSeq: number }>> {
    const { lastReadSeq } = await this.conversations.markRead(
      this.connections.connectionOf(socket).userId,
      body.conversationId,
      body.seq,
    );
    return { event: 'read.ok', data: { conversationId: body.conversationId, lastReadSeq } };
  }

  @SubscribeMessage('delivered')
  async delivered(@ConnectedSocket() socket: WebSocket, @MessageBody() body: SeqMarkerDto): Promise<void> {
    await this.conversations.markDelivered(this.connections.connectionOf(socket).userId, body.conversationId, body.seq);
  }

  @SubscribeMessage('message.send')
  async send(
    @ConnectedSocket() socket: WebSocket,
    @MessageBody() body: SendMessageFrameDto,
  ): Promise<Reply<'message.ack', { clientMessageId: string; message: MessageDto }>> {
    const userId = this.connections.connectionOf(socket).userId;
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

  /** Replays what the client missed since its token, then `synced {token}`, then live (ResumeService). */
  @SubscribeMessage('sync')
  async syncSince(@ConnectedSocket() socket: WebSocket, @MessageBody() body: SyncFrameDto): Promise<void> {
    await this.resume.resume(this.connections.connectionOf(socket), body.since);
  }

  // ---- pushes: every domain event that reaches clients --------------------

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
}
