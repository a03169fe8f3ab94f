import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ConversationDto } from '../conversations/dto/conversation.dto';
import type { DomainEvent, DomainEventOf } from '../events/domain-events';
import { MessageDto, ReactionDto } from '../messages/dto/message.dto';
import { PresenceService, type PresenceState } from '../presence/presence.service';
import { ConnectionRegistry } from './connection-registry.service';
import { RealtimeMetrics } from './realtime.metrics';
import { SeqOrderer } from './seq-orderer';
import { frame } from './ws-protocol';

const ORDER_WAIT_MS = 1_000;

/** Events about a conversation's messages, which must not overtake a held message.created. */
export type ConversationMessageEvent =
  'message.updated' | 'message.deleted' | 'message.read' | 'message.delivered' | 'reaction.updated';

const SWEEP_MS = 60_000;

/**
 * Turns domain events into socket frames (the gateway's @OnDomainEvent handlers
 * call it): each reaches every open socket of every recipient on this instance and
 * nobody else, with no database query.
 * A frame the same for everyone is serialised once per event; frames with
 * per-viewer fields (reactions[].me, unreadCount) once per recipient.
 */
@Injectable()
export class FanoutService implements OnModuleInit, OnModuleDestroy {
  private readonly orderer: SeqOrderer;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly registry: ConnectionRegistry,
    private readonly presence: PresenceService,
    private readonly metrics: RealtimeMetrics,
  ) {
    this.orderer = new SeqOrderer(ORDER_WAIT_MS, {
      expiredWait: () => metrics.orderWaitsExpired.inc(),
      droppedLate: () => metrics.orderLateDropped.inc(),
    });
  }

  onModuleInit(): void {
    this.sweeper = setInterval(() => this.orderer.sweep(), SWEEP_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.sweeper);
    this.orderer.clear();
  }

  get pendingOrdered(): number {
    return this.orderer.pendingCount;
  }

  /** In seq order per conversation (see SeqOrderer). */
  messageCreated(event: DomainEventOf<'message.created'>): void {
    const started = performance.now();
    const { message, previousCreatedAt } = event.payload;
    const sinceMs = previousCreatedAt === null ? null : Date.parse(message.createdAt) - Date.parse(previousCreatedAt);
    this.orderer.push(message.conversationId, message.seq, { sinceMs }, () => this.deliver(event, started));
  }

  /** An event about a conversation's messages: never ahead of a message.created being held. */
  behindHeldMessages(event: DomainEventOf<ConversationMessageEvent>): void {
    const started = performance.now();
    this.orderer.after(event.payload.conversationId, () => this.deliver(event, started));
  }

  /** With the participants' presence as of now (one lookup per event). */
  conversation(event: DomainEventOf<'conversation.created' | 'conversation.updated'>): void {
    const started = performance.now();
    const ids = event.payload.conversation.participants.map((p) => p.id);
    void this.presence.getMany(ids).then((presence) => this.deliver(event, started, presence));
  }

  /** Ephemeral events (typing, presence): at once. */
  now(event: DomainEventOf<'typing' | 'presence'>): void {
    this.deliver(event, performance.now());
  }

  private deliver(event: DomainEvent, started: number, presence = new Map<string, PresenceState>()): void {
    const { recipients } = event.payload;
    const render = this.renderer(event, presence);
    let shared: string | undefined;
    for (const userId of recipients) {
      if (!this.registry.socketsOf(userId)) continue;
      // Typing is never sent back to the typist, not even to their other devices.
      if (event.name === 'typing' && userId === event.payload.userId) continue;
      const text = render.perViewer ? render.frame(userId) : (shared ??= render.frame(userId));
      this.registry.sendToUser(userId, text);
    }
    this.metrics.fanoutDuration.observe((performance.now() - started) / 1000);
  }

  private renderer(
    event: DomainEvent,
    presence: Map<string, PresenceState>,
  ): { perViewer: boolean; frame: (viewerId: string) => string } {
    switch (event.name) {
      case 'message.created':
      case 'message.updated': {
        const { message } = event.payload;
        return {
          perViewer: message.reactions.length > 0,
          frame: (viewer) => frame(event.name, MessageDto.fromView(message, viewer)),
        };
      }
      case 'reaction.updated': {
        const { conversationId, messageId, reactions } = event.payload;
        return {
          perViewer: true,
          frame: (viewer) =>
            frame(event.name, { conversationId, messageId, reactions: ReactionDto.fromViews(reactions, viewer) }),
        };
      }
      case 'conversation.created':
      case 'conversation.updated': {
        const { conversation } = event.payload;
        return {
          perViewer: true,
          frame: (viewer) => frame(event.name, ConversationDto.fromView(conversation, viewer, presence)),
        };
      }
      default: {
        const { recipients: _recipients, ...data } = event.payload;
        return { perViewer: false, frame: () => frame(event.name, data) };
      }
    }
  }
}
