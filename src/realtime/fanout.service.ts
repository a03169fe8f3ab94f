import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { performance } from 'node:perf_hooks';
import { ConversationDto } from '../conversations/dto/conversation.dto';
import type { DomainEvent, DomainEventOf } from '../events/domain-events';
import { MessageDto, ReactionDto } from '../messages/dto/message.dto';
import { PresenceService, type PresenceState } from '../presence/presence.service';
import { ConnectionRegistry } from './connection-registry.service';
import { RealtimeMetrics } from './realtime.metrics';
import { ChangeLedger } from './change-ledger';
import { SeqOrderer } from './seq-orderer';
import { changeFrame, frame } from './ws-protocol';

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
  /** Which stored changes were pushed here: the bus's copy and the log follower's repair go out once. */
  readonly ledger = new ChangeLedger();
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
    this.sweeper = setInterval(() => {
      this.orderer.sweep();
      this.ledger.sweep();
    }, SWEEP_MS).unref();
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
    const { message, previousCreatedAt, conversationId, change } = event.payload;
    if (!this.ledger.take(conversationId, change.pos)) return;
    const sinceMs = previousCreatedAt === null ? null : Date.parse(message.createdAt) - Date.parse(previousCreatedAt);
    const queued = this.orderer.push(conversationId, message.seq, { sinceMs }, () => this.deliver(event, started));
    // Too late for the order: the log follower pushes it (out of order, but not lost).
    if (!queued) this.ledger.release(conversationId, change.pos);
  }

  /** An event about a conversation's messages: never ahead of a message.created being held. */
  behindHeldMessages(event: DomainEventOf<ConversationMessageEvent>): void {
    const started = performance.now();
    const { conversationId, change } = event.payload;
    if (!this.ledger.take(conversationId, change.pos)) return;
    this.orderer.after(conversationId, () => this.deliver(event, started));
  }

  /** With the participants' presence as of now (one lookup per event). */
  conversation(event: DomainEventOf<'conversation.created' | 'conversation.updated'>): void {
    const started = performance.now();
    const { conversation, change } = event.payload;
    if (!this.ledger.take(conversation.id, change.pos)) return;
    const ids = conversation.participants.map((p) => p.id);
    void this.presence.getMany(ids).then((presence) => this.deliver(event, started, presence));
  }

  /** Ephemeral events (typing, presence): at once. */
  now(event: DomainEventOf<'typing' | 'presence'>): void {
    this.deliver(event, performance.now());
  }

  private deliver(event: DomainEvent, started: number, presence = new Map<string, PresenceState>()): void {
    const { recipients } = event.payload;
    const stored = storedChange(event);
    const render = this.renderer(event, presence, stored);
    let shared: string | undefined;
    for (const userId of recipients) {
      if (!this.registry.socketsOf(userId)) continue;
      // Typing is never sent back to the typist, not even to their other devices.
      if (event.name === 'typing' && userId === event.payload.userId) continue;
      const text = render.perViewer ? render.frame(userId) : (shared ??= render.frame(userId));
      this.registry.sendToUser(userId, text, stored);
    }
    this.metrics.fanoutDuration.observe((performance.now() - started) / 1000);
  }

  private renderer(
    event: DomainEvent,
    presence: Map<string, PresenceState>,
    at: StoredChange | undefined,
  ): { perViewer: boolean; frame: (viewerId: string) => string } {
    const write = (data: unknown) => (at ? changeFrame(event.name, data, at) : frame(event.name, data));
    switch (event.name) {
      case 'message.created':
      case 'message.updated': {
        const { message } = event.payload;
        return {
          perViewer: message.reactions.length > 0,
          frame: (viewer) => write(MessageDto.fromView(message, viewer)),
        };
      }
      case 'reaction.updated': {
        const { conversationId, messageId, reactions } = event.payload;
        return {
          perViewer: true,
          frame: (viewer) => write({ conversationId, messageId, reactions: ReactionDto.fromViews(reactions, viewer) }),
        };
      }
      case 'conversation.created':
      case 'conversation.updated': {
        const { conversation } = event.payload;
        return {
          perViewer: true,
          frame: (viewer) => write(ConversationDto.fromView(conversation, viewer, presence)),
        };
      }
      case 'typing':
      case 'presence': {
        const { recipients: _recipients, ...data } = event.payload;
        return { perViewer: false, frame: () => write(data) };
      }
      default: {
        const { recipients: _recipients, change: _change, ...data } = event.payload;
        return { perViewer: false, frame: () => write(data) };
      }
    }
  }
}

/** A stored change's place in the log (on its frame) and its transaction (for a resuming socket). */
export interface StoredChange {
  conversationId: string;
  pos: number;
  xid: string;
}

function storedChange(event: DomainEvent): StoredChange | undefined {
  switch (event.name) {
    case 'typing':
    case 'presence':
      return undefined;
    case 'conversation.created':
    case 'conversation.updated':
      return { conversationId: event.payload.conversation.id, ...event.payload.change };
    default:
      return { conversationId: event.payload.conversationId, ...event.payload.change };
  }
}
