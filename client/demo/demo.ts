// The Parley demo chat: the SDK (ParleyClient) does the work, this page renders its state on
// each of its events and turns clicks into its calls. Served at /demo/ (client/scripts/build.mjs).
import { IndexedDbStorage, ParleyClient, ParleyError, type ChatMessage, type ParleyEvents } from '../src/index.js';
import { byId } from './dom.js';
import {
  bannerOf,
  conversationTitle,
  renderConversations,
  renderMessages,
  threadSubtitle,
  typingText,
  type UiState,
} from './view.js';

/** This tab's user (sessionStorage is per tab): two windows of one browser can be two users. */
const USER_KEY = 'parley-demo:user';
const SELECTED_KEY = 'parley-demo:selected';
/** One IndexedDB database per user: its session, outbox and store. */
const DB_PREFIX = 'parley-demo:';
const USERNAME = /^[a-z0-9_.]{3,32}$/;

const $ = {
  banner: byId('banner'),
  notice: byId('notice'),
  authView: byId('auth-view'),
  authForm: byId<HTMLFormElement>('auth-form'),
  authUsername: byId<HTMLInputElement>('auth-username'),
  authPassword: byId<HTMLInputElement>('auth-password'),
  authError: byId('auth-error'),
  chatView: byId('chat-view'),
  meAvatar: byId('me-avatar'),
  meName: byId('me-name'),
  meStatus: byId('me-status'),
  logout: byId<HTMLButtonElement>('logout'),
  userSearch: byId<HTMLInputElement>('user-search'),
  userResults: byId('user-results'),
  groupDetails: byId<HTMLDetailsElement>('group-details'),
  groupForm: byId<HTMLFormElement>('group-form'),
  groupTitle: byId<HTMLInputElement>('group-title'),
  groupMembers: byId<HTMLInputElement>('group-members'),
  conversations: byId('conversations'),
  thread: byId('thread'),
  threadTitle: byId('thread-title'),
  threadSubtitle: byId('thread-subtitle'),
  messageScroll: byId('message-scroll'),
  loadOlder: byId<HTMLButtonElement>('load-older'),
  messages: byId('messages'),
  typing: byId('typing'),
  replyPreview: byId('reply-preview'),
  replyText: byId('reply-text'),
  replyCancel: byId('reply-cancel'),
  composerForm: byId<HTMLFormElement>('composer-form'),
  composer: byId<HTMLInputElement>('composer'),
};

let client: ParleyClient | undefined;
let unsubscribe: (() => void)[] = [];
let state: UiState = {};
/** Conversations whose newest page was asked for at a given lastSeq (so that a failure is not retried in a loop). */
const historyAsked = new Set<string>();
let countdown: ReturnType<typeof setInterval> | undefined;
let noticeTimer: ReturnType<typeof setTimeout> | undefined;

// ---- signing in and out --------------------------------------------------------

async function openClient(username: string): Promise<ParleyClient> {
  const storage = await IndexedDbStorage.open(DB_PREFIX + username);
  // With a session in this database, create() resumes it (and starts connecting).
  return ParleyClient.create({ url: location.origin, storage });
}

async function authenticate(action: 'login' | 'register'): Promise<void> {
  const username = $.authUsername.value.trim().toLowerCase();
  const password = $.authPassword.value;
  if (!USERNAME.test(username)) return showAuth('Usernames are 3 to 32 of a-z, 0-9, _ and .', username);
  if (!password) return showAuth('Enter a password', username);
  setAuthBusy(true);
  let candidate: ParleyClient | undefined;
  try {
    candidate = await openClient(username);
    if (action === 'register') await candidate.register(username, password);
    else await candidate.login(username, password);
  } catch (error) {
    await candidate?.close();
    setAuthBusy(false);
    return showAuth(describe(error), username);
  }
  setAuthBusy(false);
  $.authPassword.value = '';
  sessionStorage.setItem(USER_KEY, candidate.user!.username);
  enter(candidate);
}

function setAuthBusy(busy: boolean): void {
  for (const button of $.authForm.querySelectorAll('button')) button.disabled = busy;
}

function showAuth(error?: string, username?: string): void {
  $.chatView.hidden = true;
  $.authView.hidden = false;
  $.banner.hidden = true;
  document.title = 'Parley demo';
  if (username !== undefined) $.authUsername.value = username;
  $.authError.textContent = error ?? '';
  $.authError.hidden = !error;
  ($.authUsername.value ? $.authPassword : $.authUsername).focus();
}

function enter(signedIn: ParleyClient): void {
  client = signedIn;
  state = { selected: sessionStorage.getItem(SELECTED_KEY) ?? undefined };
  historyAsked.clear();
  const rerender = () => scheduleRender();
  const events: (keyof ParleyEvents)[] = ['conversations', 'messages', 'typing', 'presence', 'outbox', 'sync'];
  unsubscribe = [
    ...events.map((name) => signedIn.on(name, rerender)),
    signedIn.on('connection', (connection) => {
      state.reconnectAt = connection.status === 'reconnecting' ? Date.now() + connection.delay : undefined;
      tickWhileReconnecting();
      scheduleRender();
    }),
    signedIn.on('sync', ({ status }) => {
      if (status === 'synced') historyAsked.clear(); // what failed offline may work now
    }),
    // Background failures (a fetch while the network is away): the SDK goes on; the banner tells the state.
    signedIn.on('error', (error) => console.warn('parley:', error.message)),
    // The refresh token was refused (signed out elsewhere, expired): sign in again.
    signedIn.on('session', (session) => {
      if (!session) void leave('Your session has ended: sign in again.');
    }),
  ];
  $.authView.hidden = true;
  $.chatView.hidden = false;
  const me = signedIn.user!;
  $.meName.textContent = me.displayName;
  $.meAvatar.textContent = [...me.displayName][0]?.toUpperCase() ?? '?';
  render();
  (state.selected ? $.composer : $.userSearch).focus();
}

/** Stops rendering this client and closes it; `logout` also ends the session and deletes its local data. */
async function leave(message?: string, logout = false): Promise<void> {
  const current = client;
  if (!current) return;
  client = undefined;
  for (const off of unsubscribe) off();
  unsubscribe = [];
  tickWhileReconnecting();
  const username = current.user?.username ?? sessionStorage.getItem(USER_KEY) ?? '';
  if (logout) {
    sessionStorage.removeItem(USER_KEY);
    sessionStorage.removeItem(SELECTED_KEY);
    await current.logout().catch((error: unknown) => console.warn('parley: logout', error));
  }
  await current.close();
  $.messages.replaceChildren();
  $.conversations.replaceChildren();
  showAuth(message, username);
}

// ---- rendering -------------------------------------------------------------------

let renderQueued = false;

/** Many events in one task make one render, at the next frame (or soon, in a hidden tab where frames stop). */
function scheduleRender(): void {
  if (renderQueued) return;
  renderQueued = true;
  const run = () => {
    if (!renderQueued) return;
    renderQueued = false;
    render();
  };
  requestAnimationFrame(run);
  setTimeout(run, 100);
}

function render(): void {
  const c = client;
  if (!c?.user) return;
  if (state.selected && !c.conversation(state.selected)) select(undefined);
  const unread = c.unreadTotal();
  document.title = `${unread ? `(${unread}) ` : ''}${c.user.username} · Parley demo`;
  renderBanner(c);
  $.meStatus.textContent = c.connectionState.status === 'open' ? 'online' : c.connectionState.status;
  renderConversations($.conversations, c, state);
  renderThread(c);
}

function renderBanner(c: ParleyClient): void {
  const { text, kind } = bannerOf(c, state);
  $.banner.textContent = text;
  $.banner.dataset.state = kind;
  $.banner.hidden = !text;
}

function renderThread(c: ParleyClient): void {
  const id = state.selected;
  const conversation = id ? c.conversation(id) : undefined;
  $.thread.classList.toggle('empty', !conversation);
  $.composer.disabled = !conversation;
  if (!id || !conversation) {
    $.messages.replaceChildren();
    $.loadOlder.hidden = true;
    $.typing.hidden = true;
    $.replyPreview.hidden = true;
    return;
  }
  const me = c.user!.id;
  $.threadTitle.textContent = conversationTitle(conversation, me);
  $.threadSubtitle.textContent = threadSubtitle(c, conversation);

  // Stay at the bottom when we were there; keep the view still when older messages come in above.
  const scroll = $.messageScroll;
  const atBottom = scroll.scrollHeight - scroll.scrollTop - scroll.clientHeight < 40;
  const firstBefore = $.messages.firstElementChild;
  const heightBefore = scroll.scrollHeight;
  renderMessages($.messages, c, state, id);
  if (atBottom) scroll.scrollTop = scroll.scrollHeight;
  else if (firstBefore && $.messages.firstElementChild !== firstBefore)
    scroll.scrollTop += scroll.scrollHeight - heightBefore;

  const held = c.messages(id).filter((m) => m.seq !== null);
  // Seqs start at 1 without gaps: an oldest held seq above 1 means there is older history.
  $.loadOlder.hidden = !held.length || held[0].seq! <= 1;
  const newest = held.length ? held[held.length - 1].seq! : 0;
  if (newest < conversation.lastSeq) loadNewest(c, id, conversation.lastSeq);

  const typing = typingText(c, conversation);
  $.typing.textContent = typing;
  $.typing.hidden = !typing;

  const replyTo = state.replyTo ? c.messages(id).find((m) => m.id === state.replyTo) : undefined;
  $.replyPreview.hidden = !replyTo;
  if (replyTo)
    $.replyText.textContent = `Replying to ${replyTo.senderId === me ? 'yourself' : senderName(c, replyTo)}: ${replyTo.content ?? ''}`;

  if (state.editing?.focus) {
    state.editing.focus = false;
    const input = $.messages.querySelector<HTMLInputElement>('[data-testid="edit-input"]');
    input?.focus();
    input?.select();
  }
  // Read while shown: on arrival of new messages, and when the tab becomes visible again.
  if (conversation.unreadCount > 0 && document.visibilityState === 'visible') c.markRead(id);
}

function senderName(c: ParleyClient, m: ChatMessage): string {
  return c.conversation(m.conversationId)?.participants.find((p) => p.id === m.senderId)?.displayName ?? 'someone';
}

/** The banner counts down to the next attempt: a render each second while reconnecting. */
function tickWhileReconnecting(): void {
  const reconnecting = client?.connectionState.status === 'reconnecting';
  if (reconnecting && !countdown) countdown = setInterval(scheduleRender, 1000);
  if (!reconnecting && countdown) {
    clearInterval(countdown);
    countdown = undefined;
  }
}

// ---- actions -------------------------------------------------------------------------

function select(conversationId: string | undefined): void {
  if (client && state.selected && state.selected !== conversationId) client.stopTyping(state.selected);
  if (state.selected !== conversationId) {
    $.composer.value = '';
    state.replyTo = undefined;
    state.editing = undefined;
    $.messages.replaceChildren();
  }
  state.selected = conversationId;
  if (conversationId) sessionStorage.setItem(SELECTED_KEY, conversationId);
  else sessionStorage.removeItem(SELECTED_KEY);
  scheduleRender();
}

/** The newest page of a conversation held only in part (just signed in, or the store was reset). */
function loadNewest(c: ParleyClient, id: string, lastSeq: number): void {
  const key = `${id}:${lastSeq}`;
  if (historyAsked.has(key)) return;
  historyAsked.add(key);
  c.loadMessages(id).catch((error: unknown) => console.warn('parley: history', describe(error)));
}

async function loadOlder(): Promise<void> {
  const c = client;
  const id = state.selected;
  if (!c || !id) return;
  const oldest = c.messages(id).find((m) => m.seq !== null)?.seq;
  if (!oldest) return;
  $.loadOlder.disabled = true;
  await run(() => c.loadMessages(id, { before: oldest }));
  $.loadOlder.disabled = false;
}

function send(): void {
  const c = client;
  const id = state.selected;
  const content = $.composer.value;
  if (!c || !id || !content.trim()) return;
  try {
    c.send(id, content, { replyToId: state.replyTo });
  } catch (error) {
    return notify(describe(error));
  }
  $.composer.value = '';
  state.replyTo = undefined;
  scheduleRender();
}

/** A click on one of a message's buttons. */
function onMessageAction(action: string, item: HTMLElement, button: HTMLElement): void {
  const c = client;
  const id = state.selected;
  if (!c || !id) return;
  const message = c.messages(id).find((m) => m.id === item.dataset.id);
  if (!message) return;
  switch (action) {
    case 'react': {
      const emoji = button.dataset.emoji!;
      const mine = message.reactions.some((r) => r.emoji === emoji && r.me);
      void run(() => (mine ? c.unreact(message.id, emoji) : c.react(message.id, emoji)));
      return;
    }
    case 'reply':
      state.replyTo = message.id;
      $.composer.focus();
      break;
    case 'edit':
      state.editing = { id: message.id, draft: message.content ?? '', focus: true };
      break;
    case 'edit-save':
      saveEdit();
      break;
    case 'edit-cancel':
      state.editing = undefined;
      break;
    case 'delete':
      void run(() => c.deleteMessage(message.id));
      break;
    case 'retry':
      c.retry(message.clientMessageId!);
      break;
    case 'discard':
      c.cancel(message.clientMessageId!);
      break;
  }
  scheduleRender();
}

function saveEdit(): void {
  const c = client;
  const editing = state.editing;
  if (!c || !editing) return;
  state.editing = undefined;
  const message = state.selected ? c.messages(state.selected).find((m) => m.id === editing.id) : undefined;
  if (editing.draft.trim() && editing.draft !== message?.content)
    void run(() => c.editMessage(editing.id, editing.draft));
  scheduleRender();
}

let searchTimer: ReturnType<typeof setTimeout> | undefined;
let searchSeq = 0;

function searchUsers(): void {
  clearTimeout(searchTimer);
  const query = $.userSearch.value.trim().toLowerCase();
  const seq = ++searchSeq;
  if (!/^[a-z0-9_.]{1,32}$/.test(query)) return void $.userResults.replaceChildren();
  searchTimer = setTimeout(async () => {
    const c = client;
    if (!c) return;
    const users = await c.searchUsers(query).catch((error: unknown) => (notify(describe(error)), []));
    if (seq !== searchSeq || client !== c) return; // a newer search, or signed out meanwhile
    const others = users.filter((u) => u.id !== c.user!.id);
    const rows = others.map((user) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.dataset.testid = 'user-result';
      button.dataset.userId = user.id;
      const handle = document.createElement('small');
      handle.textContent = `@${user.username}`;
      button.append(user.displayName, ' ', handle);
      const li = document.createElement('li');
      li.append(button);
      return li;
    });
    if (!rows.length) {
      const none = document.createElement('li');
      none.className = 'none';
      none.textContent = 'No such user';
      rows.push(none);
    }
    $.userResults.replaceChildren(...rows);
  }, 150);
}

async function startDirect(userId: string): Promise<void> {
  const c = client;
  if (!c) return;
  const conversation = await run(() => c.createDirect(userId));
  if (!conversation) return;
  $.userSearch.value = '';
  $.userResults.replaceChildren();
  select(conversation.id);
  $.composer.focus();
}

async function createGroup(): Promise<void> {
  const c = client;
  if (!c) return;
  const title = $.groupTitle.value.trim();
  const names = $.groupMembers.value
    .toLowerCase()
    .split(/[\s,]+/)
    .filter((name) => name && name !== c.user!.username);
  if (!title || !names.length) return notify('A group needs a title and at least one other username');
  const ids: string[] = [];
  for (const name of new Set(names)) {
    const found = await run(() => c.searchUsers(name));
    const user = found?.find((u) => u.username === name);
    if (!user) return notify(`No user is called ${name}`);
    ids.push(user.id);
  }
  const conversation = await run(() => c.createGroup(title, ids));
  if (!conversation) return;
  $.groupForm.reset();
  $.groupDetails.open = false;
  select(conversation.id);
}

/** Runs a call of the SDK, showing its failure; undefined when it failed. */
async function run<T>(call: () => Promise<T>): Promise<T | undefined> {
  try {
    return await call();
  } catch (error) {
    notify(describe(error));
    return undefined;
  }
}

function describe(error: unknown): string {
  if (error instanceof ParleyError) {
    if (error.kind === 'network' || error.kind === 'timeout') return 'The server cannot be reached: try again';
    if (error.status === 429)
      return `Too many attempts: try again in ${Math.ceil((error.details.retryAfterMs ?? 1000) / 1000)} s`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

function notify(text: string): void {
  $.notice.textContent = text;
  $.notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => ($.notice.hidden = true), 6000);
}

// ---- wiring (no inline handlers: the page's policy allows scripts from 'self' only) ---------

function wire(): void {
  $.authForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const submitter = event.submitter as HTMLButtonElement | null;
    void authenticate(submitter?.value === 'register' ? 'register' : 'login');
  });
  $.logout.addEventListener('click', () => void leave(undefined, true));
  $.notice.addEventListener('click', () => ($.notice.hidden = true));
  $.userSearch.addEventListener('input', searchUsers);
  $.userResults.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLElement>('[data-user-id]');
    if (button) void startDirect(button.dataset.userId!);
  });
  $.groupForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void createGroup();
  });
  $.conversations.addEventListener('click', (event) => {
    const item = (event.target as HTMLElement).closest<HTMLElement>('[data-testid="conversation-item"]');
    if (item) {
      select(item.dataset.id);
      $.composer.focus();
    }
  });
  $.loadOlder.addEventListener('click', () => void loadOlder());
  $.composerForm.addEventListener('submit', (event) => {
    event.preventDefault();
    send();
  });
  $.composer.addEventListener('input', () => {
    if (!client || !state.selected) return;
    if ($.composer.value) client.typing(state.selected);
    else client.stopTyping(state.selected);
  });
  $.replyCancel.addEventListener('click', () => {
    state.replyTo = undefined;
    scheduleRender();
  });
  $.messages.addEventListener('click', (event) => {
    const button = (event.target as HTMLElement).closest<HTMLElement>('[data-action]');
    const item = button?.closest<HTMLElement>('[data-testid="message-item"]');
    if (button && item && button.tagName === 'BUTTON') onMessageAction(button.dataset.action!, item, button);
  });
  // The inline editor: its draft lives in the state (a re-render keeps it); Enter saves, Escape cancels.
  $.messages.addEventListener('input', (event) => {
    if (state.editing) state.editing.draft = (event.target as HTMLInputElement).value;
  });
  $.messages.addEventListener('submit', (event) => {
    event.preventDefault();
    saveEdit();
  });
  $.messages.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && state.editing) {
      state.editing = undefined;
      scheduleRender();
    }
  });
  document.addEventListener('visibilitychange', scheduleRender);
}

async function start(): Promise<void> {
  wire();
  const username = sessionStorage.getItem(USER_KEY);
  if (!username) return showAuth();
  // A reload: this tab's user goes on from its database (session, outbox, store), offline too.
  const restored = await openClient(username);
  if (restored.user) return enter(restored);
  await restored.close();
  showAuth('Sign in again.', username);
}

start().catch((error: unknown) => showAuth(`The page could not start: ${describe(error)}`));
