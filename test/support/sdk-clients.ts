import WebSocket from 'ws';
import {
  ParleyClient,
  systemClock,
  type Clock,
  type NetworkMonitor,
  type ParleyEvents,
  type WebSocketConstructor,
} from '../../client/src/index';

/** What one SDK client put on the wire, counted at its transports (the SDK does not say which way a send went). */
export interface WireStats {
  /** `message.send` frames written to a socket. */
  socketSends: number;
  /** POST .../messages requests, and those answered 200/201. */
  restSends: number;
  restSendsOk: number;
  /** REST calls, socket opens and closes, frames other than messages: what to read when a test fails. */
  trace: string[];
}

export interface SdkClient {
  client: ParleyClient;
  stats: WireStats;
  /** The client's timers still armed (they keep a Node process alive), with where each was set. */
  armedTimers: () => { ms: number; setAt: string }[];
}

const SEND_PATH = /\/api\/v1\/conversations\/[^/]+\/messages$/;

/**
 * A ParleyClient on `ws` (Node 20 has no global WebSocket) and the global fetch, both counting
 * message sends, and on the system clock with its timers tracked.
 */
export async function createSdkClient(url: string, options: { network?: NetworkMonitor } = {}): Promise<SdkClient> {
  const stats: WireStats = { socketSends: 0, restSends: 0, restSendsOk: 0, trace: [] };
  const note = (line: string) => stats.trace.push(`${new Date().toISOString().slice(11, 23)} ${line}`);
  // A constructor function that returns the socket it made: `new` hands back that very `ws` instance.
  const CountingWebSocket = function (this: unknown, address: string) {
    note(`ws open ${new URL(address).search.includes('since=') ? 'since' : 'fresh'}`);
    const socket = new WebSocket(address);
    socket.on('close', (code) => note(`ws closed ${code}`));
    socket.on('message', (data) => {
      const text = String(data);
      const event = /^\{"event":"([^"]+)"/.exec(text)?.[1];
      if (!event || !/^(message\.(created|ack|delivered)|typing|presence|pong)$/.test(event))
        note(`ws <- ${text.slice(0, 200)}`);
    });
    const send = socket.send.bind(socket);
    socket.send = ((data: string) => {
      if (data.startsWith('{"event":"message.send"')) stats.socketSends += 1;
      send(data);
    }) as typeof socket.send;
    return socket;
  } as unknown as WebSocketConstructor;
  const armed = new Map<unknown, { ms: number; setAt: string }>();
  const clock: Clock = {
    ...systemClock,
    setTimeout(fn, ms) {
      const setAt =
        (new Error().stack ?? '')
          .split('\n')
          .find((line) => line.includes('client/src/') && !line.includes('clock.')) ?? '?';
      const handle = systemClock.setTimeout(() => {
        armed.delete(handle);
        fn();
      }, ms);
      armed.set(handle, { ms, setAt: setAt.trim() });
      return handle;
    },
    clearTimeout(handle) {
      armed.delete(handle);
      systemClock.clearTimeout(handle);
    },
  };
  const client = await ParleyClient.create({
    url,
    clock,
    network: options.network,
    WebSocket: CountingWebSocket,
    fetch: async (input, init) => {
      const { pathname, search } = new URL(input);
      const counted = init.method === 'POST' && SEND_PATH.test(pathname);
      if (counted) stats.restSends += 1;
      try {
        const response = await fetch(input, init);
        if (counted && response.ok) stats.restSendsOk += 1;
        note(`${init.method} ${pathname}${search} ${response.status}`);
        return response;
      } catch (error) {
        note(`${init.method} ${pathname}${search} ${(error as Error).message}`);
        throw error;
      }
    },
  });
  return {
    client,
    stats,
    armedTimers: () => [...armed.values()],
  };
}

/**
 * Resolves when `check()` holds, checked now and after each of `events` on any of `clients`;
 * rejects after `timeoutMs` with `describe()` (the state that did not get there).
 */
export function until(
  clients: ParleyClient[],
  events: (keyof ParleyEvents)[],
  check: () => boolean,
  describe: () => string,
  timeoutMs: number,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const unsubscribe: (() => void)[] = [];
    const done = (error?: Error) => {
      clearTimeout(timer);
      for (const off of unsubscribe) off();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`not within ${timeoutMs} ms: ${describe()}`)), timeoutMs);
    const test = () => {
      let ok: boolean;
      try {
        ok = check();
      } catch (error) {
        return done(error as Error);
      }
      if (ok) done();
    };
    for (const client of clients) for (const event of events) unsubscribe.push(client.on(event, test));
    test();
  });
}
