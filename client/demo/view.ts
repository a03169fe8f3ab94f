// What the page shows, read from the client's state at each render: nothing here keeps its own copy.
import type { ChatMessage, ConversationView, MessageStatus, ParleyClient, Participant } from '../src/index.js';
import { clockTime, h, reconcile, shortTime, type Keyed } from './dom.js';

/** The page's own state: what the SDK does not know. */
export interface UiState {
  selected?: string;
  /** The message the composer replies to. */
  replyTo?: string;
  editing?: { id: string; draft: string; focus: boolean };
  /** When the next reconnect attempt is due (Date.now() ms), for the banner's countdown. */
  reconnectAt?: number;
}

export const QUICK_REACTIONS = ['👍', '❤️', '😂'];

const MARKS: Record<MessageStatus, [string, string]> = {
  sending: ['◷', 'Sending'],
  failed: ['!', 'Not sent'],
  sent: ['✓', 'Sent'],
  delivered: ['✓✓', 'Delivered'],
  read: ['✓✓', 'Read'],
};

export function otherMember(conversation: ConversationView, me: string): Participant | undefined {
  return conversation.type === 'direct' ? conversation.participants.find((p) => p.id !== me) : undefined;
}

export function conversationTitle(conversation: ConversationView, me: string): string {
  if (conversation.type === 'group') return conversation.title ?? 'Group';
  return otherMember(conversation, me)?.displayName ?? 'Direct conversation';
}

function initial(name: string): string {
  return [...name][0]?.toUpperCase() ?? '?';
}

function nameOf(conversation: ConversationView, userId: string, me: string): string {
  if (userId === me) return 'You';
  return conversation.participants.find((p) => p.id === userId)?.displayName ?? 'Someone';
}

function lastLine(conversation: ConversationView, me: string): string {
  const last = conversation.lastMessage;
  if (!last) return 'No messages yet';
  const text = last.deleted ? 'message deleted' : (last.content ?? '');
  return conversation.type === 'group' || last.senderId === me
    ? `${nameOf(conversation, last.senderId, me)}: ${text}`
    : text;
}

export function renderConversations(list: HTMLElement, client: ParleyClient, state: UiState): void {
  const me = client.user!.id;
  const items: Keyed[] = client.conversations().map((conversation) => {
    const title = conversationTitle(conversation, me);
    const other = otherMember(conversation, me);
    const online = other ? client.presenceOf(other.id).online : undefined;
    const last = lastLine(conversation, me);
    const selected = state.selected === conversation.id;
    const { unreadCount, updatedAt } = conversation;
    return {
      key: conversation.id,
      sig: JSON.stringify([title, online, last, unreadCount, updatedAt, selected]),
      render: () =>
        h(
          'li',
          {},
          h(
            'button',
            {
              class: `conversation${selected ? ' selected' : ''}`,
              testid: 'conversation-item',
              data: { id: conversation.id, type: conversation.type },
            },
            h(
              'span',
              { class: 'avatar' },
              conversation.type === 'group' ? '#' : initial(title),
              online !== undefined &&
                h('span', {
                  class: `dot${online ? ' online' : ''}`,
                  testid: 'online-dot',
                  title: online ? 'online' : 'offline',
                  data: { online },
                }),
            ),
            h(
              'span',
              { class: 'conversation-body' },
              h(
                'span',
                { class: 'line' },
                h('strong', { class: 'title', testid: 'conversation-title' }, title),
                h('time', { attrs: { datetime: updatedAt } }, shortTime(updatedAt)),
              ),
              h(
                'span',
                { class: 'line' },
                h('span', { class: 'last', testid: 'last-message' }, last),
                unreadCount > 0 && h('span', { class: 'badge', testid: 'unread-badge' }, String(unreadCount)),
              ),
            ),
          ),
        ),
    };
  });
  reconcile(list, items);
}

export function threadSubtitle(client: ParleyClient, conversation: ConversationView): string {
  const me = client.user!.id;
  const other = otherMember(conversation, me);
  if (other) {
    const presence = client.presenceOf(other.id);
    if (presence.online) return 'online';
    return presence.lastSeenAt ? `last seen ${shortTime(presence.lastSeenAt)}` : 'offline';
  }
  const names = conversation.participants.map((p) => (p.id === me ? 'you' : p.displayName));
  return `${names.length} members: ${names.join(', ')}`;
}

function quoteOf(conversation: ConversationView, quoted: ChatMessage | undefined, me: string): string {
  if (!quoted) return 'an earlier message';
  const text = quoted.deleted ? 'message deleted' : (quoted.content ?? '');
  return `${nameOf(conversation, quoted.senderId, me)}: ${text.length > 80 ? `${text.slice(0, 80)}…` : text}`;
}

export function renderMessages(list: HTMLElement, client: ParleyClient, state: UiState, conversationId: string): void {
  const me = client.user!.id;
  const conversation = client.conversation(conversationId)!;
  const messages = client.messages(conversationId);
  const byId = new Map(messages.map((m) => [m.id, m]));
  const keys = new Set<string>();
  const items: Keyed[] = messages.map((m) => {
    // Own messages keep their key (clientMessageId) from the outbox to the store. A repeated key
    // would be a duplicate: keep both, so that it shows.
    let key = `${m.senderId}:${m.clientMessageId ?? m.id}`;
    while (keys.has(key)) key += '+';
    keys.add(key);
    const quote = m.replyToId ? quoteOf(conversation, byId.get(m.replyToId), me) : undefined;
    const editing = state.editing?.id === m.id ? state.editing : undefined;
    const sender = nameOf(conversation, m.senderId, me);
    const sig = JSON.stringify([
      m.id,
      m.content,
      m.deleted,
      m.editedAt,
      m.status,
      m.error,
      m.reactions,
      quote,
      sender,
      !!editing,
    ]);
    return { key, sig, render: () => messageItem(m, { mine: m.senderId === me, sender, quote, editing }) };
  });
  reconcile(list, items);
}

function messageItem(
  m: ChatMessage,
  { mine, sender, quote, editing }: { mine: boolean; sender: string; quote?: string; editing?: UiState['editing'] },
): HTMLElement {
  const stored = m.seq !== null;
  const live = stored && !m.deleted;
  const mark = mine && m.status ? MARKS[m.status] : undefined;
  const content = editing
    ? h(
        'form',
        { class: 'edit', data: { action: 'edit-form' } },
        h('input', { testid: 'edit-input', attrs: { value: editing.draft, 'aria-label': 'Edit message' } }),
        h('button', { testid: 'edit-save', data: { action: 'edit-save' } }, 'Save'),
        h('button', { class: 'link', testid: 'edit-cancel', data: { action: 'edit-cancel' } }, 'Cancel'),
      )
    : h(
        'p',
        { class: `content${m.deleted ? ' deleted' : ''}`, testid: 'message-content' },
        m.deleted ? 'message deleted' : (m.content ?? ''),
      );
  return h(
    'li',
    {
      class: `message ${mine ? 'mine' : 'theirs'}`,
      testid: 'message-item',
      data: {
        id: m.id,
        clientId: m.clientMessageId ?? undefined,
        seq: m.seq ?? undefined,
        status: m.status ?? undefined,
      },
    },
    h(
      'div',
      { class: 'bubble' },
      h(
        'div',
        { class: 'meta' },
        h('span', { class: 'sender', testid: 'message-sender' }, sender),
        h(
          'time',
          { attrs: { datetime: m.createdAt }, title: new Date(m.createdAt).toLocaleString() },
          clockTime(m.createdAt),
        ),
      ),
      quote !== undefined && h('blockquote', { class: 'quote', testid: 'reply-quote' }, `↪ ${quote}`),
      content,
      (m.editedAt && !m.deleted) || mark
        ? h(
            'div',
            { class: 'footer' },
            m.editedAt && !m.deleted && h('span', { class: 'edited', testid: 'edited' }, 'edited'),
            mark && h('span', { class: `mark ${m.status}`, testid: 'status-mark', title: mark[1] }, mark[0]),
          )
        : null,
      m.status === 'failed' &&
        h(
          'div',
          { class: 'failed' },
          h('span', {}, `Not sent${m.error ? `: ${m.error.message}` : ''}`),
          h('button', { testid: 'retry', data: { action: 'retry' } }, 'Retry'),
          h('button', { class: 'link', testid: 'discard', data: { action: 'discard' } }, 'Discard'),
        ),
      live &&
        m.reactions.length > 0 &&
        h(
          'div',
          { class: 'reactions' },
          ...m.reactions.map((r) =>
            h(
              'button',
              {
                class: `reaction${r.me ? ' me' : ''}`,
                testid: 'reaction',
                data: { action: 'react', emoji: r.emoji, me: r.me },
              },
              `${r.emoji} ${r.count}`,
            ),
          ),
        ),
    ),
    live &&
      !editing &&
      h(
        'div',
        { class: 'actions' },
        ...QUICK_REACTIONS.map((emoji) =>
          h('button', { testid: `react-${emoji}`, title: `React ${emoji}`, data: { action: 'react', emoji } }, emoji),
        ),
        h('button', { testid: 'reply', data: { action: 'reply' } }, 'Reply'),
        mine && h('button', { testid: 'edit', data: { action: 'edit' } }, 'Edit'),
        mine && h('button', { testid: 'delete', data: { action: 'delete' } }, 'Delete'),
      ),
  );
}

export function typingText(client: ParleyClient, conversation: ConversationView): string {
  const me = client.user!.id;
  const names = client.typingUsers(conversation.id).map((id) => nameOf(conversation, id, me));
  if (!names.length) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} are typing…`;
}

/** The banner: what the connection is doing, and what waits to be sent; empty when open and synced. */
export function bannerOf(client: ParleyClient, state: UiState): { text: string; kind: string } {
  const connection = client.connectionState;
  let text = '';
  let kind: string = connection.status;
  switch (connection.status) {
    case 'open':
      if (client.syncStatus !== 'synced') [text, kind] = ['Catching up…', 'syncing'];
      break;
    case 'connecting':
      text = connection.attempt ? `Connecting (attempt ${connection.attempt + 1})…` : 'Connecting…';
      break;
    case 'reconnecting': {
      const seconds = Math.ceil(((state.reconnectAt ?? 0) - Date.now()) / 1000);
      text =
        seconds > 0
          ? `Connection lost: retrying in ${seconds} s (attempt ${connection.attempt})`
          : `Reconnecting (attempt ${connection.attempt})…`;
      break;
    }
    case 'offline':
      text = 'You are offline';
      break;
    case 'closed':
      break;
  }
  const queued = client.outbox().length;
  if (text && queued) text += ` · ${queued} ${queued === 1 ? 'message' : 'messages'} queued`;
  return { text, kind };
}
