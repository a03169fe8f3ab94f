import type { Conversation, Message } from '../src/protocol.js';
import { ConversationState, SeqSet, Store } from '../src/store.js';

const ME = 'me';
const OTHER = 'other';
const conversation = (lastSeq = 0, unreadCount = 0, myMarker = 0): Conversation => ({
  id: 'c',
  type: 'direct',
  title: null,
  participants: [
    {
      id: ME,
      username: 'me',
      displayName: 'me',
      role: 'member',
      online: true,
      lastSeenAt: null,
      lastReadSeq: myMarker,
    },
    { id: OTHER, username: 'o', displayName: 'o', role: 'member', online: true, lastSeenAt: null, lastReadSeq: 0 },
  ],
  lastMessage: null,
  lastSeq,
  unreadCount,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
});
const message = (seq: number, senderId = OTHER): Message => ({
  id: `m${seq}`,
  conversationId: 'c',
  seq,
  senderId,
  content: `#${seq}`,
  clientMessageId: null,
  replyToId: null,
  createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
  editedAt: null,
  deleted: false,
  reactions: [],
});

describe('Store: unread counts', () => {
  it('a run of seqs folds into the count: a client that never reads keeps no list of them', () => {
    const store = new Store(ME);
    store.upsert(conversation());
    for (let seq = 1; seq <= 10_000; seq++) store.applyMessage(message(seq), { change: true });
    const state = store.conversations.get('c')!;
    expect([state.unreadCount, state.countedTo, state.tail.size]).toEqual([10_000, 10_000, 0]);
    expect(state.toRecord().tail).toEqual([]);
  });

  it('out of order: the tail holds what came after a gap until the gap closes', () => {
    const store = new Store(ME);
    store.upsert(conversation());
    for (const seq of [1, 3, 4]) store.applyMessage(message(seq), { change: true });
    const state = store.conversations.get('c')!;
    expect([state.unreadCount, state.countedTo, state.tail.size, state.gap()]).toEqual([
      3,
      1,
      2,
      { after: 1, before: 4 },
    ]);
    store.applyMessage(message(2), { change: true });
    expect([state.unreadCount, state.countedTo, state.tail.size, state.hasGap]).toEqual([4, 4, 0, false]);
  });

  it('a snapshot that knows no more messages than counted here does not replace the count (it may be older)', () => {
    const store = new Store(ME);
    store.upsert(conversation());
    store.applyMessage(message(1), { change: true });
    store.applyMessage(message(2), { change: true });
    store.applyDeleted({ conversationId: 'c', messageId: 'm1', seq: 1 });
    // A conversation.updated made before the delete, arriving after it.
    store.upsert(conversation(2, 2));
    expect(store.conversations.get('c')!.unreadCount).toBe(1);
  });

  it('a replayed snapshot (as things are now) leaves the count to the replayed changes', () => {
    const store = new Store(ME);
    store.upsert(conversation());
    store.applyMessage(message(1), { change: true });
    // The replay: the conversation now (message 1 deleted since, message 2 new: 1 unread), then the changes.
    store.upsert(conversation(2, 1), { replay: true });
    store.applyMessage({ ...message(1), content: null, deleted: true }, { change: true });
    store.applyDeleted({ conversationId: 'c', messageId: 'm1', seq: 1 });
    store.applyMessage(message(2), { change: true });
    expect(store.conversations.get('c')!.unreadCount).toBe(1);
  });
});

describe('SeqSet', () => {
  it('keeps a run as one number, and what is above it as a set', () => {
    const set = new SeqSet();
    expect([set.add(2), set.add(2), set.add(1)]).toEqual([true, false, true]);
    expect([set.upTo, [...set.above]]).toEqual([2, []]);
    set.add(5);
    set.raise(3);
    expect([set.upTo, [...set.above], set.has(4), set.has(5)]).toEqual([3, [5], false, true]);
    set.add(4);
    expect([set.upTo, set.above.size]).toEqual([5, 0]);
  });

  it('survives a record: a reload announces nothing twice', () => {
    const state = new ConversationState(conversation());
    for (const seq of [1, 2, 4]) state.seen.add(seq);
    const copy = ConversationState.fromRecord(state.toRecord());
    expect([copy.seen.has(2), copy.seen.has(3), copy.seen.has(4)]).toEqual([true, false, true]);
  });
});
