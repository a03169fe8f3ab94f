import type { FetchLike } from '../../src/http.js';

/** What the fake server saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  /** The path without the query string, as sent (still percent-encoded). */
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  /** The raw body, and parsed as JSON. */
  rawBody?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Date.now() when it was sent (fake under jest's fake timers). */
  at: number;
}

export type Handler = (request: SeenRequest) => Response | Promise<Response>;

/** A scripted `fetch`: handlers by `METHOD /path`; an unknown route answers 404 like the server. */
export class FakeFetch {
  readonly requests: SeenRequest[] = [];
  private readonly routes = new Map<string, Handler>();

  constructor(private readonly origin = 'http://parley.test') {}

  route(operation: string, handler: Handler): this {
    this.routes.set(operation, handler);
    return this;
  }

  to(operation: string): SeenRequest[] {
    return this.requests.filter((request) => `${request.method} ${request.path}` === operation);
  }

  readonly fetch: FetchLike = (input, init) => {
    const url = new URL(input);
    const rawBody = typeof init.body === 'string' ? init.body : undefined;
    const request: SeenRequest = {
      method: init.method ?? 'GET',
      url: input,
      path: input.slice(this.origin.length).split('?')[0],
      query: url.searchParams,
      headers: Object.fromEntries(Object.entries((init.headers ?? {}) as Record<string, string>)),
      rawBody,
      body: rawBody === undefined ? undefined : JSON.parse(rawBody),
      signal: init.signal ?? undefined,
      at: Date.now(),
    };
    this.requests.push(request);
    const handler = this.routes.get(`${request.method} ${request.path}`);
    if (!handler) return Promise.resolve(json(404, { statusCode: 404, error: 'Not Found', message: 'Cannot route' }));
    try {
      return Promise.resolve(handler(request));
    } catch (error) {
      return Promise.reject(error);
    }
  };
}

export function json(status: number, body?: unknown, headers: Record<string, string> = {}): Response {
  if (body === undefined) return new Response(null, { status, headers });
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}

/** The server's error shape (docs/protocol.md §3). */
export function problem(status: number, message: string | string[], extra: Record<string, unknown> = {}): Response {
  const error: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    410: 'Gone',
    429: 'Too Many Requests',
    503: 'Service Unavailable',
  };
  const headers: Record<string, string> = status === 503 ? { 'retry-after': '2' } : {};
  return json(status, { statusCode: status, error: error[status] ?? 'Error', message, ...extra }, headers);
}

/** What fetch does when the network is down. */
export function networkDown(): never {
  throw new TypeError('fetch failed');
}

/** A server that never answers: like fetch, rejects with an AbortError when the request is aborted. */
export function silent(request: SeenRequest): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = request.signal;
    if (!signal) return;
    if (signal.aborted) reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

/** Follows a promise without awaiting it: `state.settled`, `state.value`, `state.error`. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T; error?: unknown } {
  const state: { settled: boolean; value?: T; error?: unknown } = { settled: false };
  promise.then(
    (value) => Object.assign(state, { settled: true, value }),
    (error: unknown) => Object.assign(state, { settled: true, error }),
  );
  return state;
}
