import { systemClock } from '../src/clock.js';
import { ParleyError } from '../src/errors.js';
import { HttpTransport } from '../src/http.js';
import { SESSION_KEY, Session, type Locks, type SessionData } from '../src/session.js';
import type { ParleyStorage } from '../src/storage.js';
import { deferred, json, networkDown, problem, silent, track } from './support/unit-fetch.js';
import { ALICE, AuthServer, UnitStorage, unitLocks } from './support/unit-session.js';

const T0 = Date.UTC(2026, 0, 31, 12);
const REFRESH = 'POST /api/v1/auth/refresh';

beforeEach(() => {
  jest.useFakeTimers({ now: T0 });
});
afterEach(() => {
  jest.useRealTimers();
});

/** Lets the pending promises, fake fetches and storage writes run, without moving the clock. */
const flush = () => jest.advanceTimersByTimeAsync(0);
const advance = (ms: number) => jest.advanceTimersByTimeAsync(ms);

/** A client's session (a tab): its own HttpTransport on the shared fake server; `null`: the default Locks. */
function tab(server: AuthServer, storage: ParleyStorage = new UnitStorage(), locks: Locks | null = unitLocks()) {
  const http = new HttpTransport('http://parley.test', server.net.fetch);
  // Jitter at its middle: the refresh falls at its base time (the jitter has a test of its own).
  const session = new Session(http, storage, { ...systemClock, random: () => 0.5 }, locks ?? undefined);
  http.authenticator = session;
  const events: [string, string][] = [];
  session.on('changed', (data) => events.push(['changed', data.accessToken]));
  session.on('refreshed', (data) => events.push(['refreshed', data.accessToken]));
  session.on('ended', ({ reason }) => events.push(['ended', reason]));
  return { session, http, events, storage };
}

async function signedIn(server = new AuthServer(), storage = new UnitStorage(), locks: Locks = unitLocks()) {
  const t = tab(server, storage, locks);
  await t.session.login('alice', 'correct horse');
  t.events.length = 0;
  return { ...t, server, storage, locks };
}

const stored = (storage: UnitStorage) => storage.peek<SessionData>(SESSION_KEY);

describe('Session: signing in', () => {
  it('registers, and has stored the session before register() resolves', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const { session, events } = tab(server, storage);
    const release = storage.hold();

    const registering = track(session.register('alice', 'correct horse', 'Alice'));
    await flush();
    const [request] = server.net.to('POST /api/v1/auth/register');
    expect(request.body).toEqual({ username: 'alice', password: 'correct horse', displayName: 'Alice' });
    expect(request.headers.authorization).toBeUndefined();
    expect(registering.settled).toBe(false); // the answer is in, the write is not
    expect(session.current).toBeUndefined();
    expect(events).toEqual([]);

    release();
    await flush();
    const expected: SessionData = {
      user: ALICE,
      accessToken: 'access-1',
      refreshToken: 'refresh-1',
      accessIssuedAt: T0,
      accessExpiresAt: T0 + 900_000,
    };
    expect(registering.value).toEqual(expected);
    expect(stored(storage)).toEqual(expected);
    expect(session.current).toEqual(expected);
    expect(events).toEqual([['changed', 'access-1']]);
  });

  it('sends no displayName when none is given', async () => {
    const server = new AuthServer();
    await tab(server).session.register('alice', 'correct horse');
    expect(server.net.to('POST /api/v1/auth/register')[0].rawBody).toBe(
      JSON.stringify({ username: 'alice', password: 'correct horse' }),
    );
  });

  it('logs in, and has stored the session before login() resolves', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const { session } = tab(server, storage);
    const release = storage.hold();

    const login = track(session.login('alice', 'correct horse'));
    await flush();
    expect(server.net.to('POST /api/v1/auth/login')[0].body).toEqual({ username: 'alice', password: 'correct horse' });
    expect(login.settled).toBe(false);
    expect(stored(storage)).toBeUndefined();

    release();
    await flush();
    expect(login.value).toMatchObject({ accessToken: 'access-1', refreshToken: 'refresh-1' });
    expect(stored(storage)).toEqual(login.value);
  });

  it('stores nothing when the login is refused', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const { session, events } = tab(server, storage);

    const error = await session.login('alice', 'wrong').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ kind: 'http', status: 401, message: 'Invalid username or password' });
    expect(stored(storage)).toBeUndefined();
    expect(session.current).toBeUndefined();
    expect(events).toEqual([]);
  });

  it('restores the stored session, refreshing when the first session would have', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    await tab(server, storage).session.login('alice', 'correct horse');

    await advance(100_000); // the process restarts 100 s later
    const { session, events } = tab(server, storage);
    const restored = await session.restore();
    expect(restored).toEqual(stored(storage));
    expect(session.current).toEqual(restored);
    expect(events).toEqual([['changed', 'access-1']]);
    expect(await session.accessToken()).toBe('access-1');

    // Both sessions have timers now; only times count: nothing before 840 s after the login.
    await advance(739_999);
    expect(server.refreshes).toBe(0);
    await advance(1);
    expect(server.refreshes).toBe(1);
  });

  it('restores a session that expired while the process was down, and refreshes it at once', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    await tab(server, storage).session.login('alice', 'correct horse');
    jest.setSystemTime(T0 + 2 * 3_600_000);

    const { session } = tab(server, storage);
    await session.restore();
    expect(await session.accessToken()).toBe('access-2');
    await flush();
    expect(server.refreshes).toBe(1);
    expect(stored(storage)?.refreshToken).toBe('refresh-2');
  });

  it('restores nothing from an empty or an unusable storage', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const { session, events } = tab(server, storage);
    expect(await session.restore()).toBeUndefined();

    await storage.write([{ key: SESSION_KEY, value: { user: ALICE, accessToken: 'access-1' } }]);
    expect(await session.restore()).toBeUndefined();
    expect(session.current).toBeUndefined();
    expect(events).toEqual([]);
    await expect(session.accessToken()).rejects.toMatchObject({ kind: 'session' });
  });
});

describe('Session: renewing the access token', () => {
  it.each([
    [900, 840_000],
    [60, 48_000],
    [10, 8_000],
  ])('refreshes a token of %i s at %i ms, and again one lifetime later', async (lifetime, at) => {
    const server = new AuthServer();
    server.expiresIn = lifetime;
    const { session, storage, events } = await signedIn(server);

    await advance(at - 1);
    expect(server.refreshes).toBe(0);
    await advance(1);
    expect(server.refreshes).toBe(1);
    expect(server.net.to(REFRESH)[0].body).toEqual({ refreshToken: 'refresh-1' });
    expect(session.current).toMatchObject({ accessToken: 'access-2', accessExpiresAt: T0 + at + lifetime * 1000 });
    expect(stored(storage)?.refreshToken).toBe('refresh-2');
    expect(events).toEqual([
      ['changed', 'access-2'],
      ['refreshed', 'access-2'],
    ]);

    await advance(at - 1);
    expect(server.refreshes).toBe(1);
    await advance(1);
    expect(server.refreshes).toBe(2);
    expect(server.net.to(REFRESH)[1].body).toEqual({ refreshToken: 'refresh-2' });
  });

  it('hands out a fresh access token without asking the server', async () => {
    const { session, server } = await signedIn();
    await advance(800_000);
    expect(await session.accessToken()).toBe('access-1');
    expect(server.refreshes).toBe(0);
  });

  it.each([
    ['has expired (the device slept past it)', 901_000],
    ['expires within a second', 899_500],
  ])('refreshes before handing out a token that %s', async (_, at) => {
    const { session, server } = await signedIn();
    jest.setSystemTime(T0 + at); // the clock jumped: the timer at 840 s has not run

    expect(await session.accessToken()).toBe('access-2');
    expect(server.refreshes).toBe(1);
    await flush(); // the overdue timer runs now, and finds nothing to do
    expect(server.refreshes).toBe(1);
  });

  it('makes one /auth/refresh request for concurrent refreshes', async () => {
    const { session, server, events } = await signedIn();
    server.answerGate = deferred();
    jest.setSystemTime(T0 + 901_000);

    const results = [
      session.refresh(),
      session.refresh(),
      session.accessToken(),
      session.refreshAfterRejection('access-1'),
      session.accessToken(),
    ];
    await flush();
    expect(server.refreshes).toBe(1);

    server.answerGate.resolve();
    expect(await Promise.all(results)).toEqual([undefined, undefined, 'access-2', undefined, 'access-2']);
    await flush();
    expect(server.refreshes).toBe(1);
    expect(events.filter(([name]) => name === 'refreshed')).toEqual([['refreshed', 'access-2']]);
  });

  it('makes one request for concurrent refreshes of one session even with locks that exclude nothing', async () => {
    const passThrough: Locks = { run: (_, fn) => fn() }; // e.g. an app with one tab only
    const { session, server } = await signedIn(new AuthServer(), new UnitStorage(), passThrough);
    server.answerGate = deferred();

    const results = Promise.all([session.refresh(), session.refresh(), session.refreshAfterRejection('access-1')]);
    await flush();
    server.answerGate.resolve();
    await results;
    expect(server.refreshes).toBe(1);
    expect(server.reuseDetected).toBe(false);
    expect(session.current?.accessToken).toBe('access-2');
  });

  it('does not refresh again for a rejected token that was already replaced', async () => {
    const { session, server } = await signedIn();
    await session.refresh();
    expect(server.refreshes).toBe(1);

    // Calls that left with access-1 come back with a 401 after the refresh.
    await Promise.all([session.refreshAfterRejection('access-1'), session.refreshAfterRejection('access-1')]);
    expect(server.refreshes).toBe(1);
    expect(await session.accessToken()).toBe('access-2');

    // The current token rejected: that one is refreshed, once for all who saw it.
    await Promise.all([session.refreshAfterRejection('access-2'), session.refreshAfterRejection('access-2')]);
    expect(server.refreshes).toBe(2);
    expect(await session.accessToken()).toBe('access-3');
  });

  it('repeats a call answered 401 once with the refreshed token', async () => {
    const { http, server } = await signedIn();
    server.net.route('GET /api/v1/conversations', ({ headers }) =>
      headers.authorization === 'Bearer access-2'
        ? json(200, { items: [], nextCursor: null })
        : problem(401, 'Access token expired'),
    );

    expect(await http.call('GET /api/v1/conversations')).toEqual({ items: [], nextCursor: null });
    expect(server.net.to('GET /api/v1/conversations').map(({ headers }) => headers.authorization)).toEqual([
      'Bearer access-1',
      'Bearer access-2',
    ]);
    expect(server.refreshes).toBe(1);
  });

  it('stores the new refresh token before it emits `refreshed` or hands out the new access token', async () => {
    const { session, server, storage, events } = await signedIn();
    const seen: string[] = [];
    session.on('refreshed', (data) =>
      seen.push(`refreshed ${data.accessToken}, stored ${stored(storage)?.refreshToken}`),
    );
    jest.setSystemTime(T0 + 901_000);
    const release = storage.hold();

    const token = session.accessToken().then((value) => {
      seen.push(`handed out ${value}, stored ${stored(storage)?.refreshToken}`);
      return value;
    });
    await flush();
    expect(server.refreshes).toBe(1); // the server has rotated: refresh-1 is spent
    expect(seen).toEqual([]);
    expect(events).toEqual([]);
    expect(session.current?.accessToken).toBe('access-1'); // not adopted before it is stored

    release();
    expect(await token).toBe('access-2');
    expect(seen).toEqual(['refreshed access-2, stored refresh-2', 'handed out access-2, stored refresh-2']);
  });
});

describe('Session: when the refresh fails', () => {
  it('ends the session when the server refuses the refresh token: ended rejected, storage cleared', async () => {
    const { session, server, storage, events } = await signedIn();
    server.revokeAll();

    await advance(840_000);
    expect(server.refreshes).toBe(1);
    expect(events).toEqual([['ended', 'rejected']]);
    expect(stored(storage)).toBeUndefined();
    expect(session.current).toBeUndefined();
    await expect(session.accessToken()).rejects.toMatchObject({ kind: 'session' });

    await advance(3_600_000);
    expect(server.refreshes).toBe(1); // no retries for a dead session
    expect(events).toHaveLength(1);
  });

  it('rejects refresh() as signed out when the server refuses the token', async () => {
    const { session, server, events } = await signedIn();
    server.revokeAll();
    const error = await session.refresh().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ kind: 'session', transient: false });
    expect(events).toEqual([['ended', 'rejected']]);
  });

  it('keeps the session through a network error and 503s, retrying with backoff', async () => {
    const { session, server, storage, events } = await signedIn();
    server.refreshFaults.push(networkDown, () => problem(503, 'The database is unavailable, retry later'), networkDown);

    await advance(840_000);
    expect(server.refreshes).toBe(1);
    expect(session.current?.accessToken).toBe('access-1');
    expect(stored(storage)?.refreshToken).toBe('refresh-1');

    await advance(10_000);
    expect(server.net.to(REFRESH).map(({ at }) => at - T0)).toEqual([840_000, 841_000, 843_000, 847_000]);
    expect(events).toEqual([
      ['changed', 'access-2'],
      ['refreshed', 'access-2'],
    ]);
    expect(stored(storage)?.refreshToken).toBe('refresh-2');

    // The backoff starts over after a success: the next failure is retried after 1 s again.
    server.refreshFaults.push(networkDown);
    await advance(847_000 + 840_000 - (Date.now() - T0));
    expect(server.refreshes).toBe(5);
    await advance(999);
    expect(server.refreshes).toBe(5);
    await advance(1);
    expect(server.refreshes).toBe(6);
    expect(session.current?.accessToken).toBe('access-3');
  });

  it('keeps retrying, less often, after an answer that is neither a success nor a refusal', async () => {
    const { session, server, events } = await signedIn();
    server.refreshFaults.push(() => json(500, { statusCode: 500, error: 'Internal Server Error', message: 'bug' }));

    await advance(840_000);
    await advance(29_999);
    expect(server.refreshes).toBe(1);
    await advance(1);
    expect(server.refreshes).toBe(2);
    expect(session.current?.accessToken).toBe('access-2');
    expect(events.some(([name]) => name === 'ended')).toBe(false);
  });

  it('rejects accessToken() with a transient error while offline, and keeps the session', async () => {
    const { session, server, storage, events } = await signedIn();
    server.refreshFaults.push(networkDown);
    jest.setSystemTime(T0 + 901_000);

    const error = await session.accessToken().catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'network', transient: true });
    expect(session.current?.refreshToken).toBe('refresh-1');
    expect(stored(storage)?.refreshToken).toBe('refresh-1');
    expect(events).toEqual([]);
    expect(await session.accessToken()).toBe('access-2'); // online again
  });
});

describe('Session: tabs sharing one storage', () => {
  async function twoTabs(locksA: Locks | null, locksB: Locks | null) {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const a = tab(server, storage, locksA);
    await a.session.login('alice', 'correct horse');
    const b = tab(server, storage, locksB);
    await b.session.restore();
    return { server, storage, a, b };
  }

  it('makes one /auth/refresh when both need one; the other tab adopts the stored tokens', async () => {
    const locks = unitLocks();
    const { server, storage, a, b } = await twoTabs(locks, locks);
    server.answerGate = deferred(); // A's refresh is still under way when B's timer runs

    await advance(840_000); // both timers run
    expect(server.refreshes).toBe(1);
    server.answerGate.resolve();
    await flush();
    expect(server.refreshes).toBe(1);
    expect(server.reuseDetected).toBe(false);
    expect(a.session.current).toEqual(stored(storage));
    expect(b.session.current).toEqual(stored(storage));
    expect(stored(storage)?.refreshToken).toBe('refresh-2');
    expect(b.events).toContainEqual(['refreshed', 'access-2']); // B's socket sends `auth` with it
    expect([...a.events, ...b.events].some(([name]) => name === 'ended')).toBe(false);

    await advance(840_000);
    expect(server.refreshes).toBe(2);
    expect(server.reuseDetected).toBe(false);
    expect(server.isLive(b.session.current!.refreshToken)).toBe(true);
  });

  it('adopts what another tab stored long before, instead of presenting its spent token', async () => {
    const locks = unitLocks();
    const { server, a, b } = await twoTabs(locks, locks);
    await advance(100_000);
    await a.session.refresh();
    expect(server.refreshes).toBe(1);

    jest.setSystemTime(T0 + 901_000); // B's copy expired; its timer has not run
    expect(await b.session.accessToken()).toBe('access-2');
    expect(server.refreshes).toBe(1);
    expect(server.reuseDetected).toBe(false);
  });

  it('serialises the refreshes of the tabs of one process with the default locks', async () => {
    const { server, b } = await twoTabs(null, null);
    server.answerGate = deferred();
    await advance(840_000);
    server.answerGate.resolve();
    await flush();
    expect(server.refreshes).toBe(1);
    expect(server.reuseDetected).toBe(false);
    expect(b.session.current?.refreshToken).toBe('refresh-2');
  });

  it('(why the lock matters) without one, the second tab presents the spent token and kills the session', async () => {
    const { server, b } = await twoTabs(unitLocks(), unitLocks());
    server.answerGate = deferred();
    await advance(840_000);
    server.answerGate.resolve();
    await flush();
    expect(server.refreshes).toBe(2);
    expect(server.reuseDetected).toBe(true);
    expect(server.isLive('refresh-2')).toBe(false);
    expect(b.events).toContainEqual(['ended', 'rejected']);
  });
});

describe('Session: signing out', () => {
  it('posts the refresh token to /auth/logout and ends', async () => {
    const { session, server, storage, events } = await signedIn();

    await session.logout();
    const [request] = server.net.to('POST /api/v1/auth/logout');
    expect(request.body).toEqual({ refreshToken: 'refresh-1' });
    expect(request.headers.authorization).toBeUndefined();
    expect(server.isLive('refresh-1')).toBe(false);
    expect(events).toEqual([['ended', 'logout']]);
    expect(stored(storage)).toBeUndefined();
    expect(session.current).toBeUndefined();

    expect(jest.getTimerCount()).toBe(0); // no refresh timer left to keep a Node process alive
    await advance(3_600_000);
    expect(server.refreshes).toBe(0);
  });

  it('ends even when offline', async () => {
    const { session, server, storage, events } = await signedIn();
    server.net.route('POST /api/v1/auth/logout', networkDown);

    await session.logout();
    expect(server.net.to('POST /api/v1/auth/logout')).toHaveLength(1);
    expect(events).toEqual([['ended', 'logout']]);
    expect(stored(storage)).toBeUndefined();
  });

  it('ends after 5 s when the server does not answer', async () => {
    const { session, server, events } = await signedIn();
    server.net.route('POST /api/v1/auth/logout', silent);

    const logout = track(session.logout());
    await advance(4_999);
    expect(logout.settled).toBe(false);
    expect(events).toEqual([]);
    await advance(1);
    expect(logout.settled).toBe(true);
    expect(logout.error).toBeUndefined();
    expect(events).toEqual([['ended', 'logout']]);
  });

  it('does nothing without a session', async () => {
    const server = new AuthServer();
    const { session, events } = tab(server);
    await session.logout();
    expect(server.net.requests).toEqual([]);
    expect(events).toEqual([]);
    await expect(session.refresh()).rejects.toMatchObject({ kind: 'session' });
  });

  it('rejects a token request as signed out when the session ended during its refresh', async () => {
    const { session, server, storage, events } = await signedIn();
    server.answerGate = deferred(); // the server rotates the token, then its answer is slow
    jest.setSystemTime(T0 + 901_000);

    const token = session.accessToken().catch((e: unknown) => e);
    await flush();
    expect(server.refreshes).toBe(1);
    await session.logout();
    expect(events).toEqual([['ended', 'logout']]);

    server.answerGate.resolve();
    const error = await token;
    expect(error).toBeInstanceOf(ParleyError);
    expect(error).toMatchObject({ kind: 'session' });
    expect(session.current).toBeUndefined();
    expect(stored(storage)).toBeUndefined(); // the late answer did not sign back in
    expect(events).toEqual([['ended', 'logout']]);
  });
});

describe('Session: what the review found', () => {
  it('keeps the new pair in memory when storage refuses it, and writes it before the next refresh: the spent token never goes out', async () => {
    const { session, server, storage } = await signedIn();
    const write = storage.write.bind(storage);
    let fail = true;
    storage.write = async (ops) => {
      if (fail) throw new Error('QuotaExceededError');
      return write(ops);
    };
    await session.refresh(); // refresh-1 spent, refresh-2 only in memory
    expect(session.current?.refreshToken).toBe('refresh-2');
    expect(stored(storage)?.refreshToken).toBe('refresh-1');
    fail = false;
    await session.refresh();
    expect(server.reuseDetected).toBe(false);
    expect(server.net.to(REFRESH).map((r) => (r.body as { refreshToken: string }).refreshToken)).toEqual([
      'refresh-1',
      'refresh-2',
    ]);
    expect(stored(storage)?.refreshToken).toBe('refresh-3');
  });

  it('suspend() while a refresh runs: the refresh lands, and no timer is left armed', async () => {
    const { session, server } = await signedIn();
    server.answerGate = deferred();
    const refreshing = session.refresh();
    await flush();
    session.suspend();
    server.answerGate.resolve();
    await session.idle();
    await refreshing;
    expect(session.current?.accessToken).toBe('access-2');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('signed out in another tab (the stored session gone): this one ends as a sign-out, without presenting its token', async () => {
    const server = new AuthServer();
    const storage = new UnitStorage();
    const locks = unitLocks();
    const a = await signedIn(server, storage, locks);
    const b = tab(server, storage, locks);
    await b.session.restore();
    await a.session.logout();
    await expect(b.session.refresh()).rejects.toMatchObject({ kind: 'session' });
    expect(b.events).toContainEqual(['ended', 'logout']);
    expect(server.net.to(REFRESH)).toEqual([]);
  });

  it('spreads the refresh of tabs that restored one session over ±25 % of the margin', async () => {
    const times: number[] = [];
    for (const random of [0, 0.5, 0.999]) {
      const server = new AuthServer();
      const http = new HttpTransport('http://parley.test', server.net.fetch);
      const session = new Session(http, new UnitStorage(), { ...systemClock, random: () => random }, unitLocks());
      http.authenticator = session;
      const start = Date.now();
      await session.login('alice', 'correct horse');
      while (!server.net.to(REFRESH).length) await advance(1_000);
      times.push(Math.round((Date.now() - start) / 1_000));
      session.suspend();
    }
    // 900 s tokens, a 60 s margin: 45 to 75 s before expiry.
    expect(times).toEqual([855, 840, 826]);
  });
});
