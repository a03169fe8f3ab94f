import { Emitter } from './emitter.js';
import type { Conversation, Message, Reaction, ServerEvents } from './protocol.js';

export interface ConversationRecord {
  conversation: Conversation;
  countedTo: number;
  base: number;
  tail: [number, boolean][];
  delivered: [string, number][];
  /** The seqs already announced (`message` events), as SeqSet's fields. */
  seen?: { upTo: number; above: number[] };
}

/**
 * A set of seqs kept small: every seq up to `upTo`, and those above it; a seq that closes the
 * gap after `upTo` moves it up.
 */
export class SeqSet {
  upTo = 0;
  readonly above = new Set<number>();

  has(seq: number): boolean {
    return seq <= this.upTo || this.above.has(seq);
  }

  /** True if it was not in the set. */
  add(seq: number): boolean {
    if (this.has(seq)) return false;
    this.above.add(seq);
    while (this.above.delete(this.upTo + 1)) this.upTo++;
    return true;
  }

  /** Every seq up to `seq` is in the set. */
  raise(seq: number): void {
    if (seq <= this.upTo) return;
    this.upTo = seq;
    for (const above of this.above) if (above <= seq) this.above.delete(above);
    while (this.above.delete(this.upTo + 1)) this.upTo++;
  }
}

/** Deleted messages not held, remembered so that an older page cannot bring their content back. */
const MAX_TOMBSTONES = 1_000;

/**
 * One conversation as the client holds it. Unread counting is exact and idempotent
 * (a change applied twice, or a replay of what arrived live, counts once):
 * - `countedTo` (S0) and `base`: the unread messages up to seq S0: the server's count at the
 *   last snapshot of the conversation (bootstrap, `conversation.*`, GET) that knew messages this
 *   client had not seen, plus those seen since in an unbroken run of seqs;
 * - `tail`: every seq above S0 seen since (after a gap), with whether it counts (another's, not
 *   deleted); once the gap closes, the run folds into S0 and `base`, so the tail stays small.
 * Invariant: the caller's read marker is at most S0 (a marker that passes S0 folds the tail
 * into it), so unread = base + the counting entries of the tail.
 */
export class ConversationState {
  conversation: Conversation;
  countedTo = 0;
  base = 0;
  readonly tail = new Map<number, boolean>();
  private tailCounting = 0;
  private tailMax = 0;
  /** Delivery markers (`message.delivered`): user id → seq. Read markers are in `participants`. */
  readonly delivered = new Map<string, number>();
  /** Held messages in ascending seq (not necessarily contiguous), and by id. */
  readonly messages: Message[] = [];
  readonly byId = new Map<string, Message>();
  /** Seqs whose `message` event went out (or that need none: read, or before this client knew the conversation). */
  readonly seen = new SeqSet();
  readonly tombstones = new Set<string>();

  constructor(conversation: Conversation) {
    this.conversation = conversation;
  }

  get id(): string {
    return this.conversation.id;
  }

  /** What storage keeps of it (messages are kept one per key beside it). */
  toRecord(): ConversationRecord {
    return {
      conversation: this.conversation,
      countedTo: this.countedTo,
      base: this.base,
      tail: [...this.tail],
      delivered: [...this.delivered],
      seen: { upTo: this.seen.upTo, above: [...this.seen.above] },
    };
  }

  static fromRecord(record: ConversationRecord): ConversationState {
    const state = new ConversationState(record.conversation);
    state.rebase(record.countedTo, record.base);
    for (const [seq, counts] of record.tail) state.count(seq, counts);
    for (const [user, seq] of record.delivered) state.delivered.set(user, seq);
    state.seen.raise(record.seen?.upTo ?? record.countedTo);
    for (const seq of record.seen?.above ?? []) state.seen.add(seq);
    return state;
  }

  get unreadCount(): number {
    return this.base + this.tailCounting;
  }

  /** A seq above S0 that never arrived while later ones did. */
  get hasGap(): boolean {
    return this.tail.size < this.tailMax - this.countedTo;
  }

  /** The first missing seq above S0, and the highest seen (for `GET .../messages?after&before`). */
  gap(): { after: number; before: number } | undefined {
    if (!this.hasGap) return undefined;
    let seq = this.countedTo + 1;
    while (this.tail.has(seq)) seq++;
    return { after: seq - 1, before: this.tailMax };
  }

  /** Whether the unread count already covers this seq. */
  knows(seq: number): boolean {
    return seq <= this.countedTo || this.tail.has(seq);
  }

  readMarkerOf(userId: string): number {
    return this.conversation.participants.find((p) => p.id === userId)?.lastReadSeq ?? 0;
  }

  /** Records a seq above S0 (idempotent: a seq recorded again only changes whether it counts). */
  count(seq: number, counts: boolean): void {
    if (seq <= this.countedTo) return;
    const known = this.tail.get(seq);
    if (known === counts) return;
    if (known === true) this.tailCounting--;
    if (counts) this.tailCounting++;
    this.tail.set(seq, counts);
    if (seq > this.tailMax) this.tailMax = seq;
    // An unbroken run after S0 is as exact as a snapshot: fold it in.
    for (let next = this.tail.get(this.countedTo + 1); next !== undefined; next = this.tail.get(this.countedTo + 1)) {
      this.tail.delete(++this.countedTo);
      if (next) {
        this.tailCounting--;
        this.base++;
      }
    }
  }

  /** A new S0: the server's count up to `seq`; tail entries at or below it are inside it. */
  rebase(seq: number, unread: number): void {
    for (const [tailSeq, counts] of this.tail) {
      if (tailSeq > seq) continue;
      this.tail.delete(tailSeq);
      if (counts) this.tailCounting--;
    }
    this.countedTo = seq;
    this.base = unread;
    if (this.tailMax < seq) this.tailMax = seq;
  }

  /** Remembers a deleted message that is not held (bounded: the oldest are forgotten). */
  bury(messageId: string): void {
    this.tombstones.add(messageId);
    if (this.tombstones.size > MAX_TOMBSTONES) this.tombstones.delete(this.tombstones.values().next().value!);
  }

  /** Inserts or replaces a message by id, keeping seq order; true if it was not held. */
  hold(message: Message): boolean {
    const existing = this.byId.get(message.id);
    this.byId.set(message.id, message);
    const list = this.messages;
    if (existing) {
      list[insertionPoint(list, existing.seq)] = message;
      return false;
    }
    if (!list.length || list[list.length - 1].seq < message.seq) list.push(message);
    else list.splice(insertionPoint(list, message.seq), 0, message);
    return true;
  }

  /**
   * Drops the oldest held messages beyond `max` (history can be fetched again), a quarter of
   * `max` at a time: the array is shifted once per so many messages, not once per message.
   */
  trim(max: number): void {
    if (this.messages.length <= max + (max >> 2)) return;
    for (const message of this.messages.splice(0, this.messages.length - max)) this.byId.delete(message.id);
  }

  /** Whether every seq in (from, to] is held, and how many of them count as unread for `me`. */
  countHeld(from: number, to: number, me: string): number | undefined {
    let index = insertionPoint(this.messages, from + 1);
    let expected = from + 1;
    let unread = 0;
    for (; expected <= to; index++, expected++) {
      const message = this.messages[index];
      if (!message || message.seq !== expected) return undefined;
      if (message.senderId !== me && !message.deleted) unread++;
    }
    return unread;
  }
}

/** Index of the first message with seq >= `seq`. */
function insertionPoint(list: readonly Message[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function deletedCopy(message: Message): Message {
  return { ...message, content: null, deleted: true, reactions: [] };
}

export interface Dirty {
  /** Conversation id → ids of its messages that changed. */
  conversations: Map<string, Set<string>>;
  removed: Set<string>;
}

const newDirty = (): Dirty => ({ conversations: new Map(), removed: new Set() });

export interface Presence {
  online: boolean;
  lastSeenAt: string | null;
}

export interface StoreEvents {
  /** The list changed: a conversation added, removed, reordered, renamed, its unread count or members. */
  conversations: void;
  /** A conversation's messages changed (added, edited, deleted, reactions, markers). */
  messages: { conversationId: string };
  /** A message from someone else, new to this client (a push, a replay, a catch-up; not history). */
  message: Message;
  presence: { userId: string };
  /** The unread count cannot be told from what is held: fetch the conversation (GET) to rebase it. */
  stale: { conversationId: string };
  /** A message of a conversation the client does not know: fetch it. */
  unknown: { conversationId: string };
}

/**
 * The local state: conversations, held messages, unread counts, read and delivery markers,
 * reactions and presence. Every change is applied idempotently by what it says (ids, seqs,
 * markers that only move forward, payloads that carry current state), so a change seen live
 * and again in a replay, or twice across pages, leaves one result.
 */
export class Store extends Emitter<StoreEvents> {
  readonly conversations = new Map<string, ConversationState>();
  readonly presence = new Map<string, Presence>();
  /** What changed since the last `takeDirty()`: the sync engine persists it. */
  private dirty = newDirty();

  constructor(
    readonly me: string,
    /** Whether anything persists what changed (durable storage): else nothing is tracked for it. */
    private readonly trackChanges = true,
    private readonly maxHeldMessages = 2_000,
  ) {
    super();
  }

  // ---- snapshots ------------------------------------------------------------

  /** Everything the user has, as of a sync token: conversations not listed are gone, held messages too. */
  bootstrap(conversations: readonly Conversation[]): void {
    const previous = new Map(this.conversations);
    this.conversations.clear();
    for (const id of previous.keys()) this.dirty.removed.add(id);
    // Edits, deletes and reactions since the old token are unknown: held history is dropped
    // (and fetched again when shown). Delivery markers only move forward: they stay.
    for (const conversation of conversations) {
      this.upsert(conversation, { notify: false });
      const state = this.conversations.get(conversation.id);
      for (const [user, seq] of previous.get(conversation.id)?.delivered ?? []) state?.delivered.set(user, seq);
    }
    this.emit('conversations', undefined);
    // Held history was dropped: every open view shows that.
    for (const id of new Set([...previous.keys(), ...this.conversations.keys()])) {
      this.emit('messages', { conversationId: id });
    }
  }

  /**
   * A conversation as the server sent it (`conversation.*`, GET, a bootstrap). Its unread count
   * replaces the one kept here only when it knows messages not counted here:
   * - `replay`: it is part of a catch-up, rendered as things are now, and every message change
   *   since the token follows in the same catch-up: those count (a conversation new here starts
   *   from its read marker);
   * - `recount`: it was fetched because the count could not be told (a `stale` event): taken
   *   unless it is older than what was counted since.
   */
  upsert(conversation: Conversation, options: { notify?: boolean; recount?: boolean; replay?: boolean } = {}): void {
    const { notify = true, recount = false, replay = false } = options;
    if (!conversation.participants.some((p) => p.id === this.me)) {
      // Removed or left: the last change of it this user gets.
      this.remove(conversation.id, notify);
      return;
    }
    let state = this.conversations.get(conversation.id);
    const isNew = !state;
    state ??= new ConversationState(conversation);
    const previous = isNew ? undefined : state.conversation;
    const markerBefore = isNew ? 0 : state.readMarkerOf(this.me);
    const merged: Conversation = { ...conversation };
    if (previous) {
      // Markers never move back; a snapshot older than what arrived since keeps the newer fields.
      merged.participants = conversation.participants.map((p) => ({
        ...p,
        lastReadSeq: Math.max(p.lastReadSeq, previous.participants.find((q) => q.id === p.id)?.lastReadSeq ?? 0),
      }));
      if (previous.lastSeq > merged.lastSeq) merged.lastSeq = previous.lastSeq;
      if ((previous.lastMessage?.seq ?? 0) > (merged.lastMessage?.seq ?? 0)) merged.lastMessage = previous.lastMessage;
      if (previous.updatedAt > merged.updatedAt) merged.updatedAt = previous.updatedAt;
    }
    state.conversation = merged;
    const snapshotMarker = conversation.participants.find((p) => p.id === this.me)?.lastReadSeq ?? 0;
    if (isNew) {
      this.conversations.set(conversation.id, state);
      // What is read needs no `message` event; unread messages of a conversation new here (in a
      // replay, after it) do get theirs.
      state.seen.raise(snapshotMarker);
    }
    // Only a snapshot that knows messages this client has not counted replaces the count: one
    // that knows no more may be older than a change applied since (a delete, say).
    const rebased = replay
      ? isNew
      : isNew || conversation.lastSeq > state.countedTo || (recount && conversation.lastSeq === state.countedTo);
    if (rebased && replay) state.rebase(snapshotMarker, 0);
    else if (rebased) state.rebase(conversation.lastSeq, conversation.unreadCount);
    // The count starts from one marker (the snapshot's, or ours); a later one for this user (a
    // read not yet on the server, or one of another device) counts from further on.
    if (state.readMarkerOf(this.me) > (rebased ? snapshotMarker : markerBefore)) this.foldMarker(state);
    for (const p of conversation.participants) this.presence.set(p.id, { online: p.online, lastSeenAt: p.lastSeenAt });
    this.touch(state.id);
    if (notify) {
      this.emit('conversations', undefined);
      this.emit('messages', { conversationId: state.id });
    }
  }

  /** The members' presence in these conversations (as GET answers it), and nothing else of them. */
  applyPresenceOf(conversations: readonly Conversation[]): void {
    for (const conversation of conversations) {
      for (const { id, online, lastSeenAt } of conversation.participants) {
        const known = this.presence.get(id);
        if (known?.online === online && known.lastSeenAt === lastSeenAt) continue;
        this.presence.set(id, { online, lastSeenAt });
        this.emit('presence', { userId: id });
      }
    }
  }

  remove(conversationId: string, notify = true): void {
    if (!this.conversations.delete(conversationId)) return;
    this.dirty.conversations.delete(conversationId);
    this.dirty.removed.add(conversationId);
    if (notify) this.emit('conversations', undefined);
  }

  // ---- changes --------------------------------------------------------------

  /**
   * A message. `change`: a `message.created` push, replay or sync page: it is the message as it
   * is now (it replaces a held copy), and a `message` event goes out if it is another's and new
   * here. Otherwise (history, a gap's page, an ack) it may be older than what arrived since: it
   * only fills in what is not held or counted. True if it was not held.
   */
  applyMessage(message: Message, how: { change?: boolean; announce?: boolean } = {}): boolean {
    const state = this.conversations.get(message.conversationId);
    if (!state) {
      this.emit('unknown', { conversationId: message.conversationId });
      return false;
    }
    const { seq, id } = message;
    const held = state.byId.get(id);
    if (message.deleted || state.tombstones.has(id) || held?.deleted) {
      // Deleted is final: whichever way it came first, the message stays deleted and counts once.
      this.applyDeleted({ conversationId: state.id, messageId: id, seq });
      if (!state.byId.has(id)) state.hold(deletedCopy(message));
    } else {
      if (!held || how.change) state.hold(message);
      if (how.change || !state.knows(seq)) state.count(seq, message.senderId !== this.me);
    }
    const current = state.byId.get(id)!;
    const conversation = state.conversation;
    if (seq > conversation.lastSeq) conversation.lastSeq = seq;
    if (seq > (conversation.lastMessage?.seq ?? 0) || conversation.lastMessage?.id === id) {
      conversation.lastMessage = current;
    }
    if (message.createdAt > conversation.updatedAt) conversation.updatedAt = message.createdAt;
    state.trim(this.maxHeldMessages);
    this.touch(state.id, id);
    this.emit('messages', { conversationId: state.id });
    this.emit('conversations', undefined);
    const fresh = state.seen.add(seq);
    if (how.announce && fresh && message.senderId !== this.me && !current.deleted) this.emit('message', current);
    return !held;
  }

  /** `message.updated`: the message as it is now. */
  applyUpdated(message: Message): void {
    const state = this.conversations.get(message.conversationId);
    if (!state) return;
    if (state.byId.has(message.id)) state.hold(message);
    if (state.conversation.lastMessage?.id === message.id) state.conversation.lastMessage = message;
    this.touch(state.id, message.id);
    this.emit('messages', { conversationId: state.id });
  }

  applyDeleted({ conversationId, messageId, seq }: ServerEvents['message.deleted']): void {
    const state = this.conversations.get(conversationId);
    if (!state) return;
    const held = state.byId.get(messageId);
    if (seq > state.countedTo) {
      state.count(seq, false);
    } else if (!held?.deleted && !state.tombstones.has(messageId) && seq > state.readMarkerOf(this.me)) {
      // Inside the count, the first time: lower it once, which only the held copy can tell.
      if (held && held.senderId !== this.me) state.base = Math.max(0, state.base - 1);
      else if (!held) this.emit('stale', { conversationId });
    }
    if (held) state.hold(deletedCopy(held));
    else state.bury(messageId);
    const last = state.conversation.lastMessage;
    if (last?.id === messageId) state.conversation.lastMessage = deletedCopy(last);
    this.touch(conversationId, messageId);
    this.emit('messages', { conversationId });
    this.emit('conversations', undefined);
  }

  applyReactions({ conversationId, messageId, reactions }: ServerEvents['reaction.updated']): void {
    const state = this.conversations.get(conversationId);
    if (!state) return;
    const withReactions = (m: Message): Message => ({ ...m, reactions: reactions as Reaction[] });
    const held = state.byId.get(messageId);
    if (held) state.hold(withReactions(held));
    const last = state.conversation.lastMessage;
    if (last?.id === messageId) state.conversation.lastMessage = withReactions(last);
    this.touch(conversationId, messageId);
    this.emit('messages', { conversationId });
  }

  /** A read marker moved (`message.read`, `read.ok`, the answer of POST .../read). */
  applyRead(conversationId: string, userId: string, seq: number): void {
    const state = this.conversations.get(conversationId);
    if (!state) return;
    const participant = state.conversation.participants.find((p) => p.id === userId);
    if (!participant || participant.lastReadSeq >= seq) return;
    participant.lastReadSeq = seq;
    if (userId === this.me) {
      this.foldMarker(state);
      state.seen.raise(seq); // read: no `message` event for these any more
      this.emit('conversations', undefined);
    }
    this.touch(conversationId);
    this.emit('messages', { conversationId });
  }

  applyDelivered({ conversationId, userId, seq }: ServerEvents['message.delivered']): void {
    const state = this.conversations.get(conversationId);
    if (!state || (state.delivered.get(userId) ?? 0) >= seq) return;
    state.delivered.set(userId, seq);
    this.touch(conversationId);
    this.emit('messages', { conversationId });
  }

  applyPresence({ userId, status, lastSeenAt }: ServerEvents['presence']): void {
    this.presence.set(userId, { online: status === 'online', lastSeenAt });
    this.emit('presence', { userId });
  }

  // ---- queries --------------------------------------------------------------

  /** Most recent activity first. */
  list(): ConversationState[] {
    return [...this.conversations.values()].sort((a, b) =>
      a.conversation.updatedAt === b.conversation.updatedAt
        ? a.id < b.id
          ? 1
          : -1
        : a.conversation.updatedAt < b.conversation.updatedAt
          ? 1
          : -1,
    );
  }

  unreadTotal(): number {
    let total = 0;
    for (const state of this.conversations.values()) total += state.unreadCount;
    return total;
  }

  /** What changed since the last call: conversations to write (with the ids of changed messages), and to delete. */
  takeDirty(): Dirty {
    const dirty = this.dirty;
    this.dirty = newDirty();
    return dirty;
  }

  /** Puts back what a failed write took: it is written with the next one. */
  markDirty(dirty: Dirty): void {
    if (!this.trackChanges) return;
    for (const id of dirty.removed) if (!this.conversations.has(id)) this.dirty.removed.add(id);
    for (const [id, messages] of dirty.conversations) {
      if (!this.conversations.has(id)) continue;
      this.touch(id);
      for (const messageId of messages) this.dirty.conversations.get(id)!.add(messageId);
    }
  }

  /** What storage held (a reload): no events, nothing dirty. */
  restore(records: readonly ConversationRecord[], messages: readonly Message[]): void {
    for (const record of records) {
      const state = ConversationState.fromRecord(record);
      this.conversations.set(state.id, state);
      for (const p of record.conversation.participants) {
        this.presence.set(p.id, { online: false, lastSeenAt: p.lastSeenAt });
      }
    }
    for (const message of messages) this.conversations.get(message.conversationId)?.hold(message);
  }

  // ---- internals ------------------------------------------------------------

  /** My marker passed S0: the tail up to it is read. Within S0: recount from held messages, or ask. */
  private foldMarker(state: ConversationState): void {
    const marker = state.readMarkerOf(this.me);
    if (marker >= state.countedTo) {
      state.rebase(marker, 0);
      return;
    }
    // Only a marker that moved can change the base: if all of (marker, S0] is held, count it.
    const unread = state.countHeld(marker, state.countedTo, this.me);
    if (unread !== undefined) state.base = unread;
    else if (state.base > 0) this.emit('stale', { conversationId: state.id });
  }

  private touch(conversationId: string, messageId?: string): void {
    if (!this.trackChanges) return;
    let messages = this.dirty.conversations.get(conversationId);
    if (!messages) this.dirty.conversations.set(conversationId, (messages = new Set()));
    if (messageId) messages.add(messageId);
    this.dirty.removed.delete(conversationId);
  }
}
