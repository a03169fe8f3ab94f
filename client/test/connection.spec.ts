import fc from 'fast-check';
import type { Clock } from '../src/clock.js';
import { BACKOFF_MS, Connection, type ConnectionState, type WebSocketLike } from '../src/connection.js';
import { ParleyError } from '../src/errors.js';
import type { Session } from '../src/session.js';
import { advance, FakeNetwork, useFakeTime } from './support/harness.js';

/** Every connection a test made: stopped after each run, so that a failed run leaves no timers behind. */
const connections: Connection[] = [];
beforeEach(() => useFakeTime());
afterEach(() => {
  for (const connection of connections.splice(0)) connection.stop();
  jest.useRealTimers();
});

/** A socket the test drives by hand. */
class ScriptedSocket implements WebSocketLike {
  static all: ScriptedSocket[] = [];
  readyState = 0;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  connected = false;
  readonly sent: string[] = [];

  constructor(readonly url: string) {
    ScriptedSocket.all.push(this);
  }

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('not open');
    this.sent.push(data);
  }

  close(): void {
    if (this.readyState >= 2) return;
    this.readyState = 3; // the client forgets it at once: it does not wait for the close
  }

  /** The server accepts and says `connected`. */
  accept(): void {
    if (this.readyState !== 0) return;
    this.readyState = 1;
    this.connected = true;
    this.onmessage?.({ data: JSON.stringify({ event: 'connected', data: { connectionId: 'c' } }) });
  }

  frame(event: string): void {
    if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify({ event, data: {} }) });
  }

  /** The server (or the network) closes it. */
  drop(code: number): void {
    if (this.readyState >= 2) return;
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  /** Not closed by anyone yet. */
  get live(): boolean {
    return this.readyState <= 1;
  }
}

function setup(random: () => number = () => 0.5, refresh: () => Promise<void> = () => Promise.resolve()) {
  ScriptedSocket.all = [];
  const network = new FakeNetwork();
  const session = {
    accessToken: () => Promise.resolve('token'),
    refreshAfterRejection: jest.fn(refresh),
  } as unknown as Session & { refreshAfterRejection: jest.Mock };
  const clock: Clock = {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    random,
  };
  const connection = new Connection({
    url: 'ws://parley.test/ws',
    WebSocket: ScriptedSocket,
    session,
    clock,
    network,
    prepare: () => Promise.resolve('since-token'),
  });
  connections.push(connection);
  const states: ConnectionState[] = [];
  connection.on('state', (state) => states.push(state));
  const current = () => ScriptedSocket.all.filter((s) => s.live);
  return { connection, network, session, states, current };
}

describe('Connection', () => {
  it('connects with the token and the resume token, and is open on `connected`', async () => {
    const { connection, states, current } = setup();
    connection.start();
    await advance(0);
    expect(connection.state).toEqual({ status: 'connecting', attempt: 0 });
    expect(current()[0].url).toBe('ws://parley.test/ws?token=token&since=since-token');
    current()[0].accept();
    expect(connection.state).toEqual({ status: 'open', connectionId: 'c' });
    expect(states.map((s) => s.status)).toEqual(['connecting', 'open']);
  });

  it('backs off 1, 2, 4, 8, 16, 30, 30 s between failed attempts, and starts over after `connected`', async () => {
    const { connection, states, current } = setup();
    connection.start();
    for (let i = 0; i < 7; i++) {
      await advance(0);
      current()[0].drop(1006);
      const state = connection.state as Extract<ConnectionState, { status: 'reconnecting' }>;
      expect(state.status).toBe('reconnecting');
      await advance(state.delay);
    }
    const delays = states.filter((s) => s.status === 'reconnecting').map((s) => (s as { delay: number }).delay);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    await advance(0);
    current()[0].accept();
    current()[0].drop(1006);
    expect(connection.state).toMatchObject({ status: 'reconnecting', attempt: 1, delay: 1_000 });
  });

  it('1001: at once (another instance); a second 1001 before `connected` backs off', async () => {
    const { connection, current } = setup();
    connection.start();
    await advance(0);
    current()[0].accept();
    current()[0].drop(1001);
    expect(connection.state).toMatchObject({ status: 'reconnecting', delay: 0 });
    await advance(0);
    current()[0].drop(1001);
    expect(connection.state).toMatchObject({ status: 'reconnecting', delay: 1_000 });
  });

  it('4401: refreshes the token, then reconnects at once; a refused refresh (session over) closes', async () => {
    const { connection, session, current } = setup();
    connection.start();
    await advance(0);
    current()[0].accept();
    current()[0].drop(4401);
    expect(session.refreshAfterRejection).toHaveBeenCalledTimes(1);
    expect(session.refreshAfterRejection).toHaveBeenCalledWith('token'); // the token this socket was opened with
    await advance(0);
    expect(connection.state.status).toBe('connecting');
    expect(current()).toHaveLength(1);

    const ended = setup(undefined, () => Promise.reject(new ParleyError('over', 'session')));
    ended.connection.start();
    await advance(0);
    ended.current()[0].drop(4401);
    await advance(0);
    expect(ended.connection.state).toEqual({ status: 'closed' });
  });

  it('4429: waits the longest delay (do not retry in a loop)', async () => {
    const { connection, current } = setup();
    connection.start();
    await advance(0);
    current()[0].drop(4429);
    expect(connection.state).toMatchObject({ status: 'reconnecting', delay: 30_000 });
  });

  it('pings after 15 s without a frame, and gives the link up 5 s later without an answer', async () => {
    const { connection, current } = setup();
    connection.start();
    await advance(0);
    const socket = current()[0];
    socket.accept();
    await advance(14_999);
    expect(socket.sent).toEqual([]);
    await advance(1);
    expect(socket.sent.map((f) => JSON.parse(f).event)).toEqual(['ping']);
    await advance(4_999);
    socket.frame('pong');
    expect(connection.state.status).toBe('open');
    await advance(15_000 + 5_000);
    expect(socket.live).toBe(false);
    expect(connection.state).toMatchObject({ status: 'reconnecting', closeCode: 1006 });
  });

  it('offline stops everything; online connects at once', async () => {
    const { connection, network, current } = setup();
    connection.start();
    await advance(0);
    current()[0].accept();
    network.set(false);
    expect(connection.state).toEqual({ status: 'offline' });
    expect(current()).toHaveLength(0);
    await advance(120_000);
    expect(ScriptedSocket.all).toHaveLength(1);
    network.set(true);
    await advance(0);
    expect(connection.state.status).toBe('connecting');
    expect(current()).toHaveLength(1);
  });

  it('gives up a socket that does not say `connected` within 15 s (a hung upgrade), as a dropped one', async () => {
    const { connection, current } = setup();
    connection.start();
    await advance(0);
    const hung = current()[0];
    await advance(14_999);
    expect(connection.state.status).toBe('connecting');
    await advance(1);
    expect(hung.live).toBe(false);
    expect(connection.state).toMatchObject({ status: 'reconnecting', attempt: 1, closeCode: 1006 });
  });

  it('a refresh after 4401 that answers late does not disturb a socket opened since', async () => {
    let answer!: () => void;
    const { connection, network, current } = setup(
      () => 0.5,
      () => new Promise<void>((resolve) => (answer = resolve)),
    );
    connection.start();
    await advance(0);
    current()[0].accept();
    current()[0].drop(4401); // refresh under way
    network.set(false);
    network.set(true); // a new attempt, which connects
    await advance(0);
    current()[0].accept();
    expect(connection.state.status).toBe('open');
    answer();
    await advance(0);
    expect(connection.state.status).toBe('open');
    expect(current()).toHaveLength(1);
  });

  type Step =
    | { kind: 'accept' }
    | { kind: 'drop'; code: number }
    | { kind: 'network'; online: boolean }
    | { kind: 'wait'; ms: number }
    | { kind: 'stop' }
    | { kind: 'start' };

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.constant({ kind: 'accept' as const }),
    fc.record({
      kind: fc.constant('drop' as const),
      code: fc.constantFrom(1000, 1001, 1006, 1008, 1011, 1013, 4401, 4429),
    }),
    fc.record({ kind: fc.constant('network' as const), online: fc.boolean() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
    fc.constant({ kind: 'stop' as const }),
    fc.constant({ kind: 'start' as const }),
  );

  it('its state always matches the socket (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { maxLength: 40 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        async (steps, r) => {
          for (const old of connections.splice(0)) old.stop();
          const { connection, network, current } = setup(() => r);
          connection.start();
          let started = true;
          for (const s of steps) {
            const socket = current()[0];
            if (s.kind === 'accept') socket?.accept();
            else if (s.kind === 'drop') socket?.drop(s.code);
            else if (s.kind === 'network') network.set(s.online);
            else if (s.kind === 'stop') (connection.stop(), (started = false));
            else if (s.kind === 'start') (connection.start(), (started = true));
            await advance(s.kind === 'wait' ? s.ms : 0);
            const live = current();
            const { status } = connection.state;
            expect(live.length).toBeLessThanOrEqual(1);
            if (status === 'open') expect(live[0]?.connected && live[0].readyState === 1).toBe(true);
            else if (status === 'connecting') expect(live.every((l) => !l.connected)).toBe(true);
            else expect(live).toHaveLength(0);
            if (!started) expect(status).toBe('closed');
            else if (!network.isOnline()) expect(status).toBe('offline');
            else expect(status).not.toMatch(/offline|closed/);
          }
          connection.stop();
        },
      ),
      { numRuns: 200 },
    );
  });

  it('backoff delays stay within 20 % of 1, 2, 4, 8, 16, 30 s whatever the jitter (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 8, maxLength: 8 }),
        async (randoms) => {
          for (const old of connections.splice(0)) old.stop();
          let i = 0;
          const { connection, states, current } = setup(() => randoms[i++ % randoms.length]);
          connection.start();
          for (let attempt = 1; attempt <= 8; attempt++) {
            await advance(0);
            current()[0].drop(1006);
            const { delay } = connection.state as { delay: number };
            const base = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length) - 1];
            expect(delay).toBeGreaterThanOrEqual(base * 0.8);
            expect(delay).toBeLessThanOrEqual(base * 1.2);
            await advance(delay);
          }
          expect(states.filter((s) => s.status === 'reconnecting')).toHaveLength(8);
          connection.stop();
        },
      ),
      { numRuns: 50 },
    );
  });
});
