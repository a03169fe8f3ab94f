import WebSocket from 'ws';

export interface Frame {
  event: string;
  data: any;
}

/**
 * A real `ws` client. Every wait is on an event (a frame, the close), never on
 * time; `barrier()` (ping -> pong) proves that everything the server sent
 * before it has arrived, which is how tests assert that something did not come.
 */
export class TestSocket {
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly opened: Promise<void>;
  private readonly waiters: { match: (f: Frame) => boolean; resolve: (f: Frame) => void }[] = [];
  private readonly consumed = new Set<Frame>();

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    // A refused upgrade rejects `opened`; tests that expect it await `closed` instead.
    this.opened.catch(() => undefined);
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    ws.on('message', (raw) => {
      const frame = JSON.parse(raw.toString()) as Frame;
      this.frames.push(frame);
      const index = this.waiters.findIndex((w) => w.match(frame));
      if (index >= 0) {
        this.consumed.add(frame);
        this.waiters.splice(index, 1)[0].resolve(frame);
      }
    });
  }

  send(event: string, data: unknown = {}): void {
    this.ws.send(JSON.stringify({ event, data }));
  }

  sendRaw(text: string | Buffer): void {
    this.ws.send(text);
  }

  /** The first frame not yet taken by `next` that matches, received already or to come. */
  next(event?: string, predicate: (data: any) => boolean = () => true): Promise<Frame> {
    const match = (f: Frame) => (event === undefined || f.event === event) && predicate(f.data);
    const received = this.frames.find((f) => !this.consumed.has(f) && match(f));
    if (received) {
      this.consumed.add(received);
      return Promise.resolve(received);
    }
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }

  /** Resolves once every frame the server sent before now has arrived. */
  async barrier(): Promise<void> {
    const marker = this.frames.length;
    this.send('ping');
    await new Promise<void>((resolve) => {
      if (this.frames.slice(marker).some((f) => f.event === 'pong')) resolve();
      else this.waiters.push({ match: (f) => f.event === 'pong', resolve: () => resolve() });
    });
  }

  of(event: string): Frame[] {
    return this.frames.filter((f) => f.event === event);
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export function wsUrl(baseUrl: string, token?: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}/ws${token === undefined ? '' : `?token=${encodeURIComponent(token)}`}`;
}

/** Opens a socket and waits for `connected`. */
export async function connect(
  baseUrl: string,
  token: string,
  options: WebSocket.ClientOptions = {},
): Promise<TestSocket> {
  const socket = new TestSocket(new WebSocket(wsUrl(baseUrl, token), options));
  await socket.opened;
  await socket.next('connected');
  return socket;
}

/** Opens a socket that is expected to be refused: resolves with its close. */
export async function refused(url: string, options: WebSocket.ClientOptions = {}) {
  const socket = new TestSocket(new WebSocket(url, options));
  const closed = await socket.closed;
  return { ...closed, frames: socket.frames };
}
