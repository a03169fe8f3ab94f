import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page, WebSocketRoute } from 'playwright-core';
import { chromiumMissingReason, launchChromium } from './support/browser';
import { openDirect, registerUser, sendMessage, uniqueUsername, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

// The demo chat page (client/demo, built by the global setup) driven like a newcomer would: two users
// in two browser contexts (two profiles) sign up and chat on a real listening app. Waits are on
// locators and on events of the routes below, never sleeps.

const ARTIFACTS = join(__dirname, 'artifacts');
const PASSWORD = 'password-1234';
/** Long enough for anything the page does at once; the SDK's own delays (typing, retries) are shorter. */
const WAIT_MS = 8_000;

interface User {
  name: string;
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions of the page. */
  errors: string[];
}

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing) console.log(`demo browser tests skipped: ${chromiumMissing}`);

/** Records Content-Security-Policy violations, from the first script on (a string: the page's own global). */
const RECORD_VIOLATIONS = `window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__violations.push(e.effectiveDirective + ' ' + e.blockedURI));`;

function messages(page: Page): Locator {
  return page.getByTestId('message-item');
}

/** The message whose content is exactly `text`. */
function message(page: Page, text: string): Locator {
  return messages(page).filter({ has: page.getByTestId('message-content').filter({ hasText: exact(text) }) });
}

function exact(text: string): RegExp {
  return new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
}

/** Own messages the server has (sent, delivered or read). */
function stored(page: Page, text: string): Locator {
  return message(page, text).and(page.locator(':is([data-status=sent],[data-status=delivered],[data-status=read])'));
}

async function contents(page: Page): Promise<string[]> {
  return page.getByTestId('message-content').allTextContents();
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByTestId('composer').fill(text);
  await page.getByTestId('send').click();
}

/** The page is signed in, connected and caught up: the banner is hidden (as it is too before the script ran). */
async function synced(page: Page): Promise<void> {
  await page.getByTestId('me').waitFor();
  await page.getByTestId('connection-banner').waitFor({ state: 'hidden', timeout: WAIT_MS });
}

(chromiumMissing ? describe.skip : describe)('demo chat page in Chromium: two users', () => {
  let t: TestApp;
  let browser: Browser;
  const alice = { name: uniqueUsername('alice') } as User;
  const bob = { name: uniqueUsername('bob') } as User;

  async function open(user: User): Promise<void> {
    user.context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
    user.page = await user.context.newPage();
    user.errors = [];
    user.page.on('pageerror', (error) => user.errors.push(error.message));
    await user.page.addInitScript({ content: RECORD_VIOLATIONS });
    await user.page.goto(`${t.baseUrl}/demo/`);
  }

  async function signUp(user: User): Promise<void> {
    await user.page.getByTestId('login-username').fill(user.name);
    await user.page.getByTestId('login-password').fill(PASSWORD);
    await user.page.getByTestId('register-submit').click();
    await user.page.getByTestId('me').filter({ hasText: user.name }).waitFor();
  }

  async function storedCount(content: string): Promise<number> {
    const [{ n }] = await t.dataSource.query('SELECT count(*)::int AS n FROM messages WHERE content = $1', [content]);
    return n;
  }

  beforeAll(async () => {
    [t, browser] = await Promise.all([startTestApp({ NODE_ENV: 'development' }), launchChromium()]);
    await Promise.all([open(alice), open(bob)]);
  });

  afterAll(async () => {
    // The final state of both windows, for a look (test/artifacts is git-ignored).
    mkdirSync(ARTIFACTS, { recursive: true });
    for (const user of [alice, bob]) {
      await user.page?.mouse.move(0, 0); // no hovered message
      await user.page?.screenshot({ path: join(ARTIFACTS, `demo-${user === alice ? 'alice' : 'bob'}.png`) });
    }
    await browser?.close();
    await t?.close();
  });

  it('signs up two users through the page, showing a taken name and a wrong password', async () => {
    await signUp(alice);
    const { page } = bob;
    await page.getByTestId('login-username').fill(alice.name);
    await page.getByTestId('login-password').fill(PASSWORD);
    await page.getByTestId('register-submit').click();
    await page.getByTestId('auth-error').filter({ hasText: 'Username is taken' }).waitFor();
    await page.getByTestId('login-password').fill('not-her-password');
    await page.getByTestId('login-submit').click();
    await page.getByTestId('auth-error').filter({ hasText: 'Invalid username or password' }).waitFor();
    await signUp(bob);
    await Promise.all([synced(alice.page), synced(bob.page)]);
  });

  it('starts a direct conversation by searching the other user, and chats', async () => {
    await alice.page.getByTestId('user-search').fill(bob.name);
    await alice.page.getByTestId('user-result').filter({ hasText: bob.name }).click();
    await alice.page.getByTestId('thread-title').filter({ hasText: bob.name }).waitFor();
    await send(alice.page, 'Hi Bob!');

    // Bob has not opened it: the list shows it unread, with its last message and Alice online.
    const item = bob.page.getByTestId('conversation-item').filter({ hasText: alice.name });
    await item.getByTestId('unread-badge').filter({ hasText: '1' }).waitFor();
    expect(await item.getByTestId('last-message').textContent()).toBe('Hi Bob!');
    await item.locator('[data-testid=online-dot][data-online=true]').waitFor();
    await item.click();
    await message(bob.page, 'Hi Bob!').waitFor();
    await item.getByTestId('unread-badge').waitFor({ state: 'detached' });
    // Shown in a visible page is read: Alice's mark turns to read.
    await message(alice.page, 'Hi Bob!').and(alice.page.locator('[data-status=read]')).waitFor();

    // A reply, with its quote on the other side.
    await message(bob.page, 'Hi Bob!').getByTestId('reply').click();
    await send(bob.page, 'Hello Alice');
    await message(alice.page, 'Hello Alice').getByTestId('reply-quote').filter({ hasText: 'Hi Bob!' }).waitFor();

    // A reaction toggled on and shown to both, Alice's highlighted for her.
    await message(alice.page, 'Hello Alice').getByTestId('react-👍').click();
    await message(bob.page, 'Hello Alice').getByTestId('reaction').filter({ hasText: '👍 1' }).waitFor();
    await message(alice.page, 'Hello Alice').locator('[data-testid=reaction][data-me=true]').waitFor();

    // An inline edit, and a delete.
    await message(bob.page, 'Hello Alice').getByTestId('edit').click();
    await bob.page.getByTestId('edit-input').fill('Hello Alice, nice demo');
    await bob.page.getByTestId('edit-input').press('Enter');
    await message(alice.page, 'Hello Alice, nice demo').getByTestId('edited').waitFor();
    await send(alice.page, 'oops, wrong window');
    await message(alice.page, 'oops, wrong window').and(alice.page.locator('[data-seq]')).getByTestId('delete').click();
    await message(bob.page, 'message deleted').waitFor();
    expect(await contents(bob.page)).toEqual(['Hi Bob!', 'Hello Alice, nice demo', 'message deleted']);
  });

  it('shows the other user typing, and clears it within 2 s of the last keystroke', async () => {
    const indicator = bob.page.getByTestId('typing-indicator');
    await alice.page.getByTestId('composer').pressSequentially('I am typi');
    const lastKeystroke = Date.now();
    await indicator.filter({ hasText: `${alice.name} is typing…` }).waitFor();
    // Alice's SDK says `false` after 2 s without a key; without it Bob's indicator would last 6 s.
    await indicator.waitFor({ state: 'hidden', timeout: WAIT_MS });
    const clearedAfter = Date.now() - lastKeystroke;
    expect(clearedAfter).toBeGreaterThanOrEqual(1_900);
    expect(clearedAfter).toBeLessThan(3_500);
    await alice.page.getByTestId('composer').fill('');
  });

  it('queues messages offline and sends each once, in order, when back online', async () => {
    // Chromium's emulated offline fires the window's offline event but leaves an open socket open,
    // its frames held until online: the SDK closes it on that event and waits for online.
    await bob.context.setOffline(true);
    const banner = bob.page.getByTestId('connection-banner');
    await banner.and(bob.page.locator('[data-state=offline]')).waitFor();
    const texts = ['offline 1', 'offline 2', 'offline 3'];
    for (const text of texts) await send(bob.page, text);
    for (const text of texts) await message(bob.page, text).and(bob.page.locator('[data-status=sending]')).waitFor();
    await banner.filter({ hasText: 'You are offline · 3 messages queued' }).waitFor();
    mkdirSync(ARTIFACTS, { recursive: true });
    await bob.page.screenshot({ path: join(ARTIFACTS, 'demo-bob-offline.png') });

    await bob.context.setOffline(false);
    await synced(bob.page);
    await message(alice.page, 'offline 3').waitFor({ timeout: WAIT_MS });
    expect((await contents(alice.page)).filter((text) => text.startsWith('offline'))).toEqual(texts);
    for (const text of texts) {
      await message(bob.page, text)
        .and(bob.page.locator(':is([data-status=delivered],[data-status=read])'))
        .waitFor({ timeout: WAIT_MS });
      expect(await storedCount(text)).toBe(1);
    }
  });

  describe("Bob's socket through a route: a reload with a message unsent, a refusal, a reconnect", () => {
    /** How the next socket of Bob's page is treated (fixed for each socket when it opens). */
    let mode: 'pass' | 'drop-send' | 'drop-ack' | 'refuse-send' | 'refuse-connect' = 'pass';
    /** The page side of Bob's newest socket. */
    let current: WebSocketRoute | undefined;
    let target = '';
    let onDropped: () => void = () => undefined;
    const refused = new Set<string>();
    const sendPath = '**/api/v1/conversations/*/messages';

    beforeAll(async () => {
      // Between Bob's page and the server: drop the send of `target` on its way out, or its ack
      // (and its message.created, which the sender's socket also gets) on the way back, or answer
      // its first send with the refusal a server would give (an error frame with its clientMessageId).
      await bob.page.routeWebSocket(
        (url) => url.pathname === '/ws',
        (ws: WebSocketRoute) => {
          const socketMode = mode;
          current = ws;
          if (socketMode === 'refuse-connect') return void ws.close({ code: 1011, reason: 'refused by the test' });
          const server = ws.connectToServer();
          if (socketMode === 'pass') return; // forwarded both ways
          ws.onMessage((frame) => {
            const { event, data } = JSON.parse(String(frame));
            if (event === 'message.send' && data.content === target) {
              if (socketMode === 'drop-send') return onDropped();
              if (socketMode === 'refuse-send' && !refused.has(target)) {
                refused.add(target);
                const { clientMessageId } = data;
                const refusal = { code: 'bad_request', message: 'refused by the test', event, clientMessageId };
                return ws.send(JSON.stringify({ event: 'error', data: refusal }));
              }
            }
            server.send(frame);
          });
          server.onMessage((frame) => {
            const { event, data } = JSON.parse(String(frame));
            if (socketMode === 'drop-ack' && event === 'message.ack' && data.message.content === target)
              return onDropped();
            if (socketMode === 'drop-ack' && event === 'message.created' && data.content === target) return;
            ws.send(frame);
          });
        },
      );
    });

    afterAll(async () => {
      mode = 'pass';
      await bob.page.unroute(sendPath);
    });

    /** Reloads Bob's page with the next socket in `next` mode; REST sends fail unless it is `pass`. */
    async function reloadBob(next: typeof mode): Promise<void> {
      mode = next;
      if (next === 'pass') await bob.page.unroute(sendPath);
      else
        await bob.page.route(sendPath, (route) =>
          route.request().method() === 'POST' ? route.abort() : route.continue(),
        );
      await bob.page.reload();
      await synced(bob.page);
    }

    /** Sends `text` from Bob's page and resolves when the route has dropped it (or its ack). */
    async function sendDropped(text: string): Promise<void> {
      target = text;
      const dropped = new Promise<void>((resolve) => (onDropped = resolve));
      await send(bob.page, text);
      await dropped;
      await message(bob.page, text).and(bob.page.locator('[data-status=sending]')).waitFor();
    }

    it('sends it once when its send never reached the server', async () => {
      await reloadBob('drop-send');
      await sendDropped('never reached the server');
      expect(await storedCount('never reached the server')).toBe(0);

      // Kept in IndexedDB: sent after the reload, with the same clientMessageId.
      await reloadBob('pass');
      await stored(bob.page, 'never reached the server').waitFor({ timeout: WAIT_MS });
      await message(alice.page, 'never reached the server').waitFor({ timeout: WAIT_MS });
      expect(await storedCount('never reached the server')).toBe(1);
    });

    it('sends it once when the server stored it but the ack was lost', async () => {
      await reloadBob('drop-ack');
      await sendDropped('stored, ack lost');
      await message(alice.page, 'stored, ack lost').waitFor();

      // After the reload the resume replays its message.created (or a resend gets the original): one message.
      await reloadBob('pass');
      await stored(bob.page, 'stored, ack lost').waitFor({ timeout: WAIT_MS });
      expect(await storedCount('stored, ack lost')).toBe(1);
    });

    it('shows a refused send as failed, and Retry sends it once', async () => {
      await reloadBob('refuse-send');
      target = 'refused, then retried';
      await send(bob.page, target);
      const failed = message(bob.page, target).and(bob.page.locator('[data-status=failed]'));
      await failed.getByText('Not sent: refused by the test').waitFor();
      mkdirSync(ARTIFACTS, { recursive: true });
      await bob.page.screenshot({ path: join(ARTIFACTS, 'demo-bob-failed.png') });
      await failed.getByTestId('retry').click();
      await stored(bob.page, target).waitFor();
      await message(alice.page, target).waitFor();
      expect(await storedCount(target)).toBe(1);
    });

    it('shows the reconnect attempt and the seconds until it', async () => {
      mode = 'refuse-connect';
      await current!.close({ code: 1011, reason: 'dropped by the test' });
      const banner = bob.page.getByTestId('connection-banner');
      // The first retry is 1 s ± 20 % away: the countdown starts at 1 or 2 s.
      await banner.filter({ hasText: /^Connection lost: retrying in [12] s \(attempt 1\)$/ }).waitFor();
      mode = 'pass'; // the next attempt (in about 1 s) connects
      await synced(bob.page);
    });
  });

  it('signs a second tab of the same browser in as another user; older history loads on demand', async () => {
    // Carol (over REST) writes Alice more than the newest page (50) that a tab without a store loads.
    const login = await t.http.post('/api/v1/auth/login', { username: alice.name, password: PASSWORD });
    const aliceUser = { id: login.body.user.id } as RegisteredUser;
    const carol = await registerUser(t.http, { username: uniqueUsername('carol') });
    const withCarol = await openDirect(t.http, carol, aliceUser);
    for (let i = 1; i <= 55; i++) await sendMessage(t.http, carol, withCarol, `history ${i}`);
    const carolItem = (page: Page) => page.getByTestId('conversation-item').filter({ hasText: carol.username });
    await carolItem(alice.page).getByTestId('unread-badge').filter({ hasText: '55' }).waitFor();

    // Bob's browser profile: the user is kept per tab (sessionStorage), the data per user (IndexedDB).
    const tab = await bob.context.newPage();
    const tabErrors: string[] = [];
    tab.on('pageerror', (error) => tabErrors.push(error.message));
    await tab.goto(`${t.baseUrl}/demo/`);
    await tab.getByTestId('login-username').fill(alice.name);
    await tab.getByTestId('login-password').fill(PASSWORD);
    await tab.getByTestId('login-submit').click();
    await tab.getByTestId('me').filter({ hasText: alice.name }).waitFor();
    await carolItem(tab).click();
    await message(tab, 'history 55').waitFor();
    expect(await message(tab, 'history 5').count()).toBe(0);
    await tab.getByTestId('load-older').click();
    await message(tab, 'history 1').waitFor();
    await tab.getByTestId('load-older').waitFor({ state: 'hidden' });
    expect(await contents(tab)).toEqual(Array.from({ length: 55 }, (_, i) => `history ${i + 1}`));
    // Read in this tab: read in Alice's other window too.
    await carolItem(alice.page).getByTestId('unread-badge').waitFor({ state: 'detached' });

    // A group made here shows in Bob's tab of the same browser, and first in Alice's list.
    await tab.getByTestId('new-group').click();
    await tab.getByTestId('group-title').fill('Demo group');
    await tab.getByTestId('group-members').fill(`${bob.name}, ${carol.username}`);
    await tab.getByTestId('group-create').click();
    await tab.getByTestId('thread-title').filter({ hasText: 'Demo group' }).waitFor();
    await bob.page.getByTestId('conversation-item').filter({ hasText: 'Demo group' }).waitFor();
    await alice.page.getByTestId('conversation-item').filter({ hasText: 'Demo group' }).waitFor();
    expect(await alice.page.getByTestId('conversation-title').allTextContents()).toEqual([
      'Demo group',
      carol.username,
      bob.name,
    ]);
    // Signing out forgets this tab's user: a reload shows the sign-in form.
    await tab.getByTestId('logout').click();
    await tab.getByTestId('login-submit').waitFor();
    await tab.reload();
    await tab.getByTestId('login-submit').waitFor();
    await tab.close();
    expect(tabErrors).toEqual([]);
    // Bob's tab is still Bob's after a reload.
    await bob.page.reload();
    await bob.page.getByTestId('me').filter({ hasText: bob.name }).waitFor();
    await synced(bob.page);
  });

  it('shows one conversation on both sides, every message once and in order', async () => {
    // Messages of a conversation arrive in order: once Alice sees the last, she has every earlier one.
    await send(bob.page, 'that is all');
    await message(alice.page, 'that is all').waitFor();
    await stored(bob.page, 'that is all').waitFor();
    const transcript = [
      'Hi Bob!',
      'Hello Alice, nice demo',
      'message deleted',
      'offline 1',
      'offline 2',
      'offline 3',
      'never reached the server',
      'stored, ack lost',
      'refused, then retried',
      'that is all',
    ];
    expect(await contents(alice.page)).toEqual(transcript);
    expect(await contents(bob.page)).toEqual(transcript);
    const seqs = await messages(bob.page).evaluateAll((items) => items.map((item) => item.getAttribute('data-seq')));
    expect(seqs).toEqual(transcript.map((_, i) => String(i + 1)));
    for (const user of [alice, bob]) {
      expect(await user.page.evaluate('window.__violations')).toEqual([]);
      expect(user.errors).toEqual([]);
    }
  });
});
