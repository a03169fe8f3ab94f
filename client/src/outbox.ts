import { randomId, Timer, type Clock } from './clock.js';
import { Emitter } from './emitter.js';
import { ParleyError } from './errors.js';
import type { Message } from './protocol.js';
import type { ParleyStorage } from './storage.js';

/** A message written here and not yet stored by the server (or given up: `failed`). */
export interface OutboxItem {
  clientMessageId: string;
  conversationId: string;
  content: string;
  replyToId: string | null;
  /** Local time of `send()`. */
  createdAt: string;
  status: 'sending' | 'failed';
  /** Sends that got no answer in time (the 4th makes it `failed`). */
  attempts: number;
  /** Why it failed (status `failed`), or why the last try did not go through. */
  error?: { message: string; kind: string; status?: number; code?: string };
  /** Storage key: in the order written (a stamp that only grows), so that a reload sends in that order. */
  key: string;
}

/**
 * How a send leaves now: `socket` when it is open and its resume is done; `wait` while the
 * resume runs (it may show the message stored already) or with no network; else `rest`.
 */
export type Route = 'socket' | 'rest' | 'wait';

export interface OutboxTransport {
  route(): Route;
  sendFrame(item: OutboxItem): boolean;
  sendRest(item: OutboxItem, timeoutMs: number): Promise<Message>;
  /** An ack is late: check the link (a `ping`). */
  probe(): void;
}

export interface OutboxEvents {
  /** Items were added, changed state, or left: of one conversation, or of any (no id). */
  changed: { conversationId?: string };
  /** The server stored it: `message` is the stored message. */
  sent: { item: OutboxItem; message: Message };
  /** Storage failed (the message is sent anyway; after a reload it may be missing or sent again, once). */
  error: Error;
}

/** Wait for `message.ack` (or a REST answer) this long. */
export const ACK_TIMEOUT_MS = 5_000;
/** After the 1st, 2nd and 3rd unanswered send; the 4th unanswered makes the message `failed`. */
export const RETRY_DELAYS_MS = [1_000, 2_000, 4_000];
/** After a refusal that will pass (rate limited, database away, no network): not counted as a try. */
const TRANSIENT_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 16_000, 30_000];

interface Flight {
  item: OutboxItem;
  via: 'socket' | 'rest';
  ackTimer?: Timer;
}

/**
 * Messages on their way, kept in storage until the server has them, so that a reload or
 * a restart sends them still. Exactly once: every try of a message carries the same
 * `clientMessageId`, which the server stores once. In order per conversation: one message
 * of a conversation is in flight at a time, the next leaves when it is stored (or failed).
 */
export class Outbox extends Emitter<OutboxEvents> {
  private readonly items = new Map<string, OutboxItem>();
  private readonly flights = new Map<string, Flight>(); // by conversation
  /** Conversations waiting out a retry delay, with the timer that ends the wait. */
  private readonly waits = new Map<string, Timer>();
  /** Conversations waiting out a refusal that will pass: how many in a row, and which way the last went. */
  private readonly transientRetries = new Map<string, { count: number; via: 'socket' | 'rest' }>();
  /** Not in storage yet: not sent before it is, so that a reload cannot lose a sent-but-unanswered message. */
  private readonly saving = new Set<string>();
  /** The last key's stamp: keys only grow, whatever the clock does (same millisecond, a clock set back). */
  private lastStamp = 0;
  private stopped = false;

  constructor(
    private readonly storage: ParleyStorage,
    private readonly prefix: string,
    private readonly clock: Clock,
    private readonly transport: OutboxTransport,
  ) {
    super();
  }

  /** Everything in the outbox, in the order written. */
  list(conversationId?: string): OutboxItem[] {
    const all = [...this.items.values()].sort((a, b) => (a.key < b.key ? -1 : 1));
    return conversationId ? all.filter((item) => item.conversationId === conversationId) : all;
  }

  get size(): number {
    return this.items.size;
  }

  /** Reads what an earlier page or process left unsent. */
  async load(): Promise<void> {
    for (const { key, value } of await this.storage.list<OutboxItem>(this.prefix)) {
      if (!this.items.has(value.clientMessageId)) this.items.set(value.clientMessageId, value);
      this.lastStamp = Math.max(this.lastStamp, Number(key.slice(this.prefix.length).split('-')[0]) || 0);
    }
    this.emit('changed', {});
    this.pump();
  }

  /** Queues a message: it is stored locally first, then sent when it is its turn. */
  add(conversationId: string, content: string, replyToId: string | null): OutboxItem {
    const now = this.clock.now();
    const clientMessageId = randomId();
    this.lastStamp = Math.max(now * 1000, this.lastStamp + 1);
    const item: OutboxItem = {
      clientMessageId,
      conversationId,
      content,
      replyToId,
      createdAt: new Date(now).toISOString(),
      status: 'sending',
      attempts: 0,
      key: `${this.prefix}${String(this.lastStamp).padStart(18, '0')}-${clientMessageId}`,
    };
    this.items.set(clientMessageId, item);
    this.saving.add(clientMessageId);
    this.emit('changed', { conversationId });
    // Storage failing must not keep the message from leaving: it goes either way.
    void this.persist(item)
      .catch(() => undefined)
      .finally(() => {
        this.saving.delete(clientMessageId);
        this.pump();
      });
    return item;
  }

  /** Sends a failed message again (same `clientMessageId`: stored at most once). */
  retry(clientMessageId: string): boolean {
    const item = this.items.get(clientMessageId);
    if (!item || item.status !== 'failed') return false;
    item.status = 'sending';
    item.attempts = 0;
    delete item.error;
    this.emit('changed', { conversationId: item.conversationId });
    void this.persist(item)
      .finally(() => this.pump())
      .catch(this.report);
    return true;
  }

  /**
   * Drops a message that never left unanswered: queued behind another, or refused. One sent
   * without an answer may be stored (its fate is unknown): that one can only be retried.
   */
  cancel(clientMessageId: string): boolean {
    const item = this.items.get(clientMessageId);
    if (!item || item.attempts > 0 || this.flights.get(item.conversationId)?.item === item) return false;
    this.forget(item);
    return true;
  }

  /** The server has this message (an ack, a REST answer, or its `message.created` in a push or replay). */
  resolve(message: Message): void {
    if (!message.clientMessageId) return;
    const item = this.items.get(message.clientMessageId);
    if (!item || item.conversationId !== message.conversationId) return;
    this.land(item, message);
  }

  /** A `message.send` was refused (an `error` frame carrying its clientMessageId). */
  refused(clientMessageId: string, error: ParleyError): void {
    const item = this.items.get(clientMessageId);
    const flight = item && this.flights.get(item.conversationId);
    if (!item || flight?.item !== item) return;
    this.settle(flight);
    this.onFailure(item, error, 'socket');
  }

  /** The socket dropped: sends waiting for an ack on it will go again (their fate is unknown, not failed). */
  disconnected(): void {
    for (const flight of [...this.flights.values()]) if (flight.via === 'socket') this.settle(flight);
  }

  /** Something changed that may let messages leave (socket ready, network back): go now. */
  pump(): void {
    if (this.stopped) return;
    const route = this.transport.route();
    if (route === 'wait') return;
    const heads = new Map<string, OutboxItem>();
    for (const item of this.list()) {
      if (item.status === 'sending' && !heads.has(item.conversationId)) heads.set(item.conversationId, item);
    }
    for (const [conversationId, item] of heads) {
      if (this.flights.has(conversationId) || this.saving.has(item.clientMessageId)) continue;
      const wait = this.waits.get(conversationId);
      if (wait?.armed) {
        // A REST send that found no server waits less once the socket is back; any other wait (a
        // refusal on the socket, a retry after a timeout) keeps its delay.
        if (!(route === 'socket' && this.transientRetries.get(conversationId)?.via === 'rest')) continue;
        wait.clear();
      }
      this.dispatch(item, route);
    }
  }

  /** Stops timers (the client is closing); what is queued stays in storage. */
  stop(): void {
    this.stopped = true;
    for (const flight of this.flights.values()) flight.ackTimer?.clear();
    for (const wait of this.waits.values()) wait.clear();
    this.flights.clear();
  }

  private dispatch(item: OutboxItem, route: 'socket' | 'rest'): void {
    const conversationId = item.conversationId;
    if (route === 'socket') {
      if (!this.transport.sendFrame(item)) return; // the socket just closed: its state change pumps again
      const flight: Flight = { item, via: 'socket' };
      flight.ackTimer = new Timer(this.clock, () => this.onTimeout(flight));
      flight.ackTimer.start(ACK_TIMEOUT_MS);
      this.flights.set(conversationId, flight);
      return;
    }
    const flight: Flight = { item, via: 'rest' };
    this.flights.set(conversationId, flight);
    this.transport.sendRest(item, ACK_TIMEOUT_MS).then(
      (message) => {
        if (this.flights.get(conversationId) !== flight) return;
        this.land(item, message);
      },
      (error: unknown) => {
        if (this.flights.get(conversationId) !== flight) return;
        this.settle(flight);
        const failure =
          error instanceof ParleyError ? error : new ParleyError(String((error as Error)?.message), 'network');
        if (failure.kind === 'timeout') this.onUnanswered(item);
        else this.onFailure(item, failure, 'rest');
      },
    );
  }

  private onTimeout(flight: Flight): void {
    if (this.flights.get(flight.item.conversationId) !== flight) return;
    this.settle(flight);
    this.transport.probe();
    this.onUnanswered(flight.item);
  }

  /** No answer: the server may or may not have it. Try again with the same id, up to the limit. */
  private onUnanswered(item: OutboxItem): void {
    item.attempts += 1;
    if (item.attempts > RETRY_DELAYS_MS.length) {
      this.fail(item, new ParleyError(`No answer after ${item.attempts} tries`, 'timeout'));
      return;
    }
    this.transientRetries.delete(item.conversationId);
    this.persist(item).catch(this.report);
    this.wait(item.conversationId, RETRY_DELAYS_MS[item.attempts - 1]);
  }

  private onFailure(item: OutboxItem, error: ParleyError, via: 'socket' | 'rest'): void {
    if (!error.transient) {
      this.fail(item, error);
      return;
    }
    const n = this.transientRetries.get(item.conversationId)?.count ?? 0;
    this.transientRetries.set(item.conversationId, { count: n + 1, via });
    item.error = describe(error);
    this.emit('changed', { conversationId: item.conversationId });
    const delay = error.details.retryAfterMs ?? TRANSIENT_DELAYS_MS[Math.min(n, TRANSIENT_DELAYS_MS.length - 1)];
    this.wait(item.conversationId, delay);
  }

  private fail(item: OutboxItem, error: ParleyError): void {
    item.status = 'failed';
    item.error = describe(error);
    this.transientRetries.delete(item.conversationId);
    this.emit('changed', { conversationId: item.conversationId });
    this.persist(item).catch(this.report);
    this.pump(); // the next message of the conversation goes
  }

  private wait(conversationId: string, delay: number): void {
    let timer = this.waits.get(conversationId);
    if (!timer) {
      timer = new Timer(this.clock, () => this.pump());
      this.waits.set(conversationId, timer);
    }
    timer.start(delay);
  }

  private land(item: OutboxItem, message: Message): void {
    const flight = this.flights.get(item.conversationId);
    if (flight?.item === item) this.settle(flight);
    this.transientRetries.delete(item.conversationId);
    this.waits.get(item.conversationId)?.clear(); // a late answer during a retry's wait: the next goes now
    this.forget(item);
    this.emit('sent', { item, message });
    this.pump();
  }

  private settle(flight: Flight): void {
    flight.ackTimer?.clear();
    if (this.flights.get(flight.item.conversationId) === flight) this.flights.delete(flight.item.conversationId);
  }

  private forget(item: OutboxItem): void {
    if (!this.items.delete(item.clientMessageId)) return;
    this.emit('changed', { conversationId: item.conversationId });
    this.storage.write([{ key: item.key, delete: true }]).catch(this.report);
  }

  private readonly report = (error: unknown) =>
    this.emit('error', error instanceof Error ? error : new Error(String(error)));

  private persist(item: OutboxItem): Promise<void> {
    if (!this.items.has(item.clientMessageId)) return Promise.resolve();
    return this.storage.write([{ key: item.key, value: item }]);
  }
}

function describe(error: ParleyError): OutboxItem['error'] {
  return { message: error.message, kind: error.kind, status: error.status, code: error.code };
}
