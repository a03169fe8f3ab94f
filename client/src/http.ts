import { ParleyError } from './errors.js';
import type { RestOperations } from './protocol.js';

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/** What the transport needs from the session: the bearer token, and a refresh after a 401. */
export interface Authenticator {
  /** A token that is not known to be expired (refreshing first if it is); rejects without a session. */
  accessToken(): Promise<string>;
  /** The server refused `token`: refresh (once for every caller that saw it), or end the session. */
  refreshAfterRejection(token: string): Promise<void>;
}

export interface RequestOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Send the bearer token (default) and refresh once on a 401. */
  auth?: boolean;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/** An operation of the OpenAPI document, by `METHOD /path` (RestOperations is generated from it). */
export type Operation = keyof RestOperations;
type Parts<K extends Operation> = Omit<RestOperations[K], 'response'>;
export type CallArgs<K extends Operation> = Parts<K> & Pick<RequestOptions, 'auth' | 'timeoutMs'>;
export type CallResult<K extends Operation> = RestOperations[K] extends { response: infer R } ? R : never;
/** The arguments may be left out when the operation has no required parameter, query or body. */
type CallRest<K extends Operation> = {} extends Parts<K> ? [args?: CallArgs<K>] : [args: CallArgs<K>];

/**
 * REST calls: JSON in and out, the bearer token, one refresh-and-repeat on a 401, and
 * every failure as a ParleyError (http, network or timeout).
 */
export class HttpTransport {
  authenticator?: Authenticator;

  constructor(
    private readonly baseUrl: string,
    private readonly fetchImpl: FetchLike,
  ) {}

  /** One operation of the API, typed by the generated RestOperations: `call('GET /api/v1/users', {query})`. */
  call<K extends Operation>(operation: K, ...[args]: CallRest<K>): Promise<CallResult<K>> {
    const { params, query, body, auth, timeoutMs } = (args ?? {}) as {
      params?: Record<string, string>;
      query?: RequestOptions['query'];
      body?: unknown;
    } & Pick<RequestOptions, 'auth' | 'timeoutMs'>;
    const [method, template] = operation.split(' ');
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params?.[name] ?? ''));
    return this.request<CallResult<K>>(method, path, { query, body, auth, timeoutMs });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    for (let attempt = 0; ; attempt++) {
      const token = auth ? await this.requireAuthenticator().accessToken() : undefined;
      const [response, text] = await this.send(method, path, options, token);
      if (response.status === 401 && token && attempt === 0) {
        await this.requireAuthenticator().refreshAfterRejection(token);
        continue;
      }
      return read(response, text) as T;
    }
  }

  private requireAuthenticator(): Authenticator {
    if (!this.authenticator) throw new ParleyError('Not signed in', 'session');
    return this.authenticator;
  }

  /** The answer with its body: the timeout covers both, and a body that breaks off is no answer. */
  private async send(
    method: string,
    path: string,
    options: RequestOptions,
    token?: string,
  ): Promise<[Response, string]> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const controller = new AbortController();
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await this.fetchImpl(this.baseUrl + path + queryString(options.query), {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: controller.signal,
      });
      return [response, await response.text()];
    } catch (error) {
      if (controller.signal.aborted)
        throw new ParleyError(`${method} ${path}: no answer in ${timeoutMs} ms`, 'timeout');
      throw new ParleyError(`${method} ${path}: ${(error as Error).message || 'network error'}`, 'network');
    } finally {
      clearTimeout(timer);
    }
  }
}

function queryString(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** The JSON body of a 2xx (undefined for 204), or the server's error as a ParleyError. */
function read(response: Response, text: string): unknown {
  if (response.status === 204) return undefined;
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  if (response.ok) return body;
  const fields = (body ?? {}) as { message?: unknown; code?: unknown };
  const message = Array.isArray(fields.message)
    ? fields.message.join('; ')
    : typeof fields.message === 'string'
      ? fields.message
      : response.statusText || `HTTP ${response.status}`;
  const retryAfter = Number(response.headers.get('retry-after'));
  throw new ParleyError(message, 'http', {
    status: response.status,
    code: typeof fields.code === 'string' ? fields.code : undefined,
    retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined,
  });
}
