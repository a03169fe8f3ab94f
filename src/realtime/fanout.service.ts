import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ConversationDto } from '../conversations/dto/conversation.dto';
import type { DomainEvent } from '../events/domain-events';
import { EventBus } from '../events/event-bus';
import { MessageDto, ReactionDto } from '../messages/dto/message.dto';
import { PresenceService, type PresenceState } from '../presence/presence.service';
import { ConnectionRegistry } from './connection-registry.service';
import { RealtimeMetrics } from './realtime.metrics';
import { SeqOrderer } from './seq-orderer';
import { frame } from './ws-protocol';

const ORDER_WAIT_MS = 1_000;
const SWEEP_MS = 60_000;

/**
 * Turns domain events into socket frames: each reaches every open socket of
 * every recipient on this instance and nobody else, with no database query.
 * A frame the same for everyone is serialised once per event; frames with
 * per-viewer fields (reactions[].me, unreadCount) once per recipient.
 */
@Injectable()
export class FanoutService implements OnModuleInit, OnModuleDestroy {
  private readonly orderer: SeqOrderer;
  private unsubscribe?: () => void;
  private sweeper?: NodeJS.Timeout;

  constructor(
    private readonly bus: EventBus,
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
    this.unsubscribe = this.bus.subscribe((event) => this.onEvent(event));
    this.sweeper = setInterval(() => this.orderer.sweep(), SWEEP_MS).unref();
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearInterval(this.sweeper);
    this.orderer.clear();
  }

  get pendingOrdered(): number {
    return this.orderer.pendingCount;
  }

  private onEvent(event: DomainEvent): void {
    const started = performance.now();
    switch (event.name) {
      case 'message.created': {
        const { message, previousCreatedAt } = event.payload;
        const sinceMs =
          previousCreatedAt === null ? null : Date.parse(message.createdAt) - Date.parse(previousCreatedAt);
        this.orderer.push(message.conversationId, message.seq, { sinceMs }, () => this.deliver(event, started));
        return;
      }
      case 'message.updated':
      case 'message.deleted':
      case 'message.read':
      case 'message.delivered':
      case 'reaction.updated':
        this.orderer.after(event.payload.conversationId, () => this.deliver(event, started));
        return;
      case 'conversation.created':
      case 'conversation.updated': {
        const ids = event.payload.conversation.participants.map((p) => p.id);
        void this.presence.getMany(ids).then((presence) => this.deliver(event, started, presence));
        return;
      }
      default:
        this.deliver(event, started);
    }
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
