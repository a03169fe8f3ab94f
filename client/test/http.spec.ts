import { ParleyError, type ParleyErrorKind } from '../src/errors.js';
import { HttpTransport, type Authenticator } from '../src/http.js';
import { FakeFetch, json, networkDown, problem, silent, track, type SeenRequest } from './support/unit-fetch.js';

const BASE = 'http://parley.test';
const CONVERSATION = '5f0c7d0e-8a3b-4c1e-9f2a-6b7c8d9e0f1a';
const MESSAGE = { id: 'm-1', conversationId: CONVERSATION, seq: 1, content: 'hi' };

/** Hands out `access-N`; a rejection of the current token moves to the next one. */
class FakeAuthenticator implements Authenticator {
  token = 1;
  readonly rejected: string[] = [];
  asked = 0;

  async accessToken(): Promise<string> {
    this.asked++;
    return `access-${this.token}`;
  }

  async refreshAfterRejection(token: string): Promise<void> {
    this.rejected.push(token);
    if (token === `access-${this.token}`) this.token++;
  }
}

function setup() {
  const server = new FakeFetch(BASE);
  const http = new HttpTransport(BASE, server.fetch);
  const auth = new FakeAuthenticator();
  http.authenticator = auth;
  return { server, http, auth };
}

/** The ParleyError a call rejects with. */
async function failure(promise: Promise<unknown>): Promise<ParleyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ParleyError);
  return error as ParleyError;
}

describe('HttpTransport: requests', () => {
  it('builds the path from encoded params, sends the JSON body with the bearer token, and returns the JSON answer', async () => {
    const { server, http } = setup();
    server.route(`POST /api/v1/conversations/${CONVERSATION}/messages`, () => json(201, MESSAGE));
    server.route('POST /api/v1/conversations/a%20b%2Fc%3F%23/messages', () => json(201, MESSAGE));

    const body = { content: 'hi ✓', clientMessageId: 'c-1' };
    const message = await http.call('POST /api/v1/conversations/{id}/messages', { params: { id: CONVERSATION }, body });
    expect(message).toEqual(MESSAGE);

    const [request] = server.requests;
    expect(request.url).toBe(`${BASE}/api/v1/conversations/${CONVERSATION}/messages`);
    expect(request.method).toBe('POST');
    expect(request.headers).toEqual({
      accept: 'application/json',
      authorization: 'Bearer access-1',
      'content-type': 'application/json',
    });
    expect(request.rawBody).toBe(JSON.stringify(body));

    // A param is one path segment, whatever it holds.
    await http.call('POST /api/v1/conversations/{id}/messages', { params: { id: 'a b/c?#' }, body });
    expect(server.requests[1].url).toBe(`${BASE}/api/v1/conversations/a%20b%2Fc%3F%23/messages`);
  });

  it('fills every param of a path', async () => {
    const { server, http } = setup();
    server.route('DELETE /api/v1/messages/m-1/reactions/%F0%9F%91%8D', () => json(200, { reactions: [] }));

    await http.call('DELETE /api/v1/messages/{id}/reactions/{emoji}', { params: { id: 'm-1', emoji: '👍' } });
    expect(server.requests.map(({ method, path }) => `${method} ${path}`)).toEqual([
      'DELETE /api/v1/messages/m-1/reactions/%F0%9F%91%8D',
    ]);
  });

  it('sends the query without its undefined entries, encoded; no body and no content-type on a GET', async () => {
    const { server, http } = setup();
    server.route(`GET /api/v1/conversations/${CONVERSATION}/messages`, () => json(200, { items: [] }));
    server.route('GET /api/v1/users', () => json(200, { items: [] }));
    server.route('GET /api/v1/sync', () => json(200, { changes: [], token: 't', hasMore: false }));

    await http.call('GET /api/v1/conversations/{id}/messages', {
      params: { id: CONVERSATION },
      query: { limit: 20, before: undefined, after: 0 },
    });
    await http.call('GET /api/v1/users', { query: { query: 'a b&c=d' } });
    await http.call('GET /api/v1/sync', { query: { since: undefined } });
    await http.call('GET /api/v1/sync');

    const urls = server.requests.map(({ url }) => url.slice(BASE.length));
    expect(urls).toEqual([
      `/api/v1/conversations/${CONVERSATION}/messages?limit=20&after=0`,
      '/api/v1/users?query=a+b%26c%3Dd',
      '/api/v1/sync',
      '/api/v1/sync',
    ]);
    expect(server.requests[1].query.get('query')).toBe('a b&c=d');
    for (const request of server.requests) {
      expect(request.rawBody).toBeUndefined();
      expect(request.headers['content-type']).toBeUndefined();
    }
  });

  it('resolves a 204 to undefined', async () => {
    const { server, http } = setup();
    server.route('DELETE /api/v1/messages/m-1', () => json(204));
    await expect(http.call('DELETE /api/v1/messages/{id}', { params: { id: 'm-1' } })).resolves.toBeUndefined();
  });

  it('sends no token and asks no authenticator for `auth: false`', async () => {
    const { server, http, auth } = setup();
    server.route('POST /api/v1/auth/login', () => problem(401, 'Invalid username or password'));

    const error = await failure(
      http.call('POST /api/v1/auth/login', { body: { username: 'alice', password: 'x' }, auth: false }),
    );
    expect(error).toMatchObject({ kind: 'http', status: 401 });
    expect(server.requests).toHaveLength(1); // a 401 without a token is not repeated
    expect(server.requests[0].headers.authorization).toBeUndefined();
    expect(auth.asked).toBe(0);
    expect(auth.rejected).toEqual([]);
  });

  it('rejects an authenticated call without a session, sending nothing', async () => {
    const server = new FakeFetch(BASE);
    const http = new HttpTransport(BASE, server.fetch);
    const error = await failure(http.call('GET /api/v1/conversations'));
    expect(error.kind).toBe('session');
    expect(server.requests).toEqual([]);
  });
});

describe('HttpTransport: errors', () => {
  const fail = async (response: () => Response) => {
    const { server, http } = setup();
    server.route('GET /api/v1/conversations', response);
    return failure(http.call('GET /api/v1/conversations'));
  };

  it('turns a validation error into kind http, with its messages joined', async () => {
    const error = await fail(() =>
      problem(400, ['content must be 1 to 4000 characters after trimming', 'property x should not exist']),
    );
    expect(error).toMatchObject({ name: 'ParleyError', kind: 'http', status: 400, transient: false });
    expect(error.message).toContain('content must be 1 to 4000 characters after trimming');
    expect(error.message).toContain('property x should not exist');
    expect(error.code).toBeUndefined();
    expect(error.details.retryAfterMs).toBeUndefined();
  });

  it('keeps a string message as it is', async () => {
    const error = await fail(() => problem(404, 'Conversation not found'));
    expect(error).toMatchObject({ kind: 'http', status: 404, message: 'Conversation not found', transient: false });
  });

  it('gives the 410 of a stale sync token its code', async () => {
    const error = await fail(() =>
      problem(410, 'The sync token is too old: bootstrap again', { code: 'resync_required' }),
    );
    expect(error).toMatchObject({ kind: 'http', status: 410, code: 'resync_required', transient: false });
  });

  it.each([
    [429, '3', 3_000],
    [503, '2', 2_000],
  ])('reads Retry-After of a %i into retryAfterMs', async (status, header, ms) => {
    const error = await fail(() =>
      json(status, { statusCode: status, error: 'x', message: 'retry later' }, { 'retry-after': header }),
    );
    expect(error).toMatchObject({ kind: 'http', status, transient: true, details: { retryAfterMs: ms } });
  });

  it('leaves retryAfterMs undefined without a usable Retry-After', async () => {
    const noHeader = await fail(() => json(429, { statusCode: 429, error: 'x', message: 'slow down' }));
    expect(noHeader.details.retryAfterMs).toBeUndefined();
    const date = await fail(() =>
      json(503, { statusCode: 503, message: 'x' }, { 'retry-after': 'Wed, 21 Oct 2015 07:28:00 GMT' }),
    );
    expect(date.details.retryAfterMs).toBeUndefined();
  });

  it('makes do with a body that is not the JSON error shape (a proxy page)', async () => {
    const error = await fail(
      () => new Response('<html>Bad Gateway</html>', { status: 502, statusText: 'Bad Gateway' }),
    );
    expect(error).toMatchObject({ kind: 'http', status: 502, message: 'Bad Gateway', transient: true });
    const bare = await fail(() => new Response(null, { status: 504 }));
    expect(bare).toMatchObject({ kind: 'http', status: 504, transient: true });
    expect(bare.message).toContain('504');
  });

  it('turns a failed fetch into kind network', async () => {
    const error = await fail(networkDown);
    expect(error).toMatchObject({ kind: 'network', transient: true });
    expect(error.status).toBeUndefined();
    expect(error.message).toContain('GET /api/v1/conversations');
  });

  it('turns an answer whose body breaks off into kind network, not a success', async () => {
    const error = await fail(() => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"items":['));
          controller.error(new TypeError('terminated'));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    });
    expect(error).toMatchObject({ kind: 'network', transient: true });
  });
});

describe('HttpTransport: timeouts', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('gives up after 10 s by default: kind timeout, the request aborted', async () => {
    const { server, http } = setup();
    server.route('GET /api/v1/conversations', silent);

    const call = track(http.call('GET /api/v1/conversations'));
    await jest.advanceTimersByTimeAsync(9_999);
    expect(call.settled).toBe(false);
    expect(server.requests[0].signal?.aborted).toBe(false);

    await jest.advanceTimersByTimeAsync(1);
    expect(call.error).toBeInstanceOf(ParleyError);
    expect(call.error).toMatchObject({ kind: 'timeout', transient: true });
    expect(server.requests[0].signal?.aborted).toBe(true);
  });

  it('takes timeoutMs per call', async () => {
    const { server, http } = setup();
    server.route('GET /api/v1/conversations', silent);

    const call = track(http.call('GET /api/v1/conversations', { timeoutMs: 500 }));
    await jest.advanceTimersByTimeAsync(499);
    expect(call.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(call.error).toMatchObject({ kind: 'timeout' });
  });

  it('counts a body that stops coming as no answer', async () => {
    const { server, http } = setup();
    // Headers, then part of the body, then nothing; like fetch, the body fails once aborted.
    server.route('GET /api/v1/conversations', ({ signal }) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"items":['));
          signal?.addEventListener('abort', () => controller.error(signal.reason));
        },
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } });
    });

    const call = track(http.call('GET /api/v1/conversations', { timeoutMs: 1_000 }));
    await jest.advanceTimersByTimeAsync(999);
    expect(call.settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(call.error).toMatchObject({ kind: 'timeout', transient: true });
  });

  it('clears its timer once answered', async () => {
    const { server, http } = setup();
    server.route('GET /api/v1/conversations', () => json(200, { items: [] }));
    await http.call('GET /api/v1/conversations');
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('HttpTransport: a 401 on an authenticated call', () => {
  const tokenOf = (request: SeenRequest) => request.headers.authorization;

  it('refreshes once with the rejected token and repeats the call with the new one', async () => {
    const { server, http, auth } = setup();
    server.route(`POST /api/v1/conversations/${CONVERSATION}/messages`, ({ headers }) =>
      headers.authorization === 'Bearer access-2' ? json(201, MESSAGE) : problem(401, 'Access token expired'),
    );

    const message = await http.call('POST /api/v1/conversations/{id}/messages', {
      params: { id: CONVERSATION },
      body: { content: 'hi', clientMessageId: 'c-1' },
    });
    expect(message).toEqual(MESSAGE);
    expect(auth.rejected).toEqual(['access-1']);
    expect(server.requests.map(tokenOf)).toEqual(['Bearer access-1', 'Bearer access-2']);
    expect(server.requests[1].rawBody).toBe(server.requests[0].rawBody); // the same call again
  });

  it('throws a second 401 without refreshing again', async () => {
    const { server, http, auth } = setup();
    server.route('GET /api/v1/conversations', () => problem(401, 'The user of this token no longer exists'));

    const error = await failure(http.call('GET /api/v1/conversations'));
    expect(error).toMatchObject({ kind: 'http', status: 401, message: 'The user of this token no longer exists' });
    expect(auth.rejected).toEqual(['access-1']);
    expect(server.requests.map(tokenOf)).toEqual(['Bearer access-1', 'Bearer access-2']);
  });

  it('passes on the failure of the refresh, without repeating the call', async () => {
    const { server, http, auth } = setup();
    auth.refreshAfterRejection = () =>
      Promise.reject(new ParleyError('The session has ended: sign in again', 'session'));
    server.route('GET /api/v1/conversations', () => problem(401, 'Access token expired'));

    const error = await failure(http.call('GET /api/v1/conversations'));
    expect(error.kind).toBe('session');
    expect(server.requests).toHaveLength(1);
  });

  it('does not refresh for other refusals', async () => {
    const { server, http, auth } = setup();
    server.route('GET /api/v1/conversations', () => problem(403, 'Forbidden'));
    expect(await failure(http.call('GET /api/v1/conversations'))).toMatchObject({ status: 403 });
    expect(auth.rejected).toEqual([]);
    expect(server.requests).toHaveLength(1);
  });
});

describe('ParleyError.transient', () => {
  const cases: [ParleyErrorKind, ParleyError['details'], boolean][] = [
    ['network', {}, true],
    ['timeout', {}, true],
    ['offline', {}, true],
    ['session', {}, false],
    ['invalid', {}, false],
    ...[429, 502, 503, 504].map((status): [ParleyErrorKind, ParleyError['details'], boolean] => [
      'http',
      { status },
      true,
    ]),
    ...[400, 401, 403, 404, 409, 410, 413, 415, 500, 501].map(
      (status): [ParleyErrorKind, ParleyError['details'], boolean] => ['http', { status }, false],
    ),
    ['http', { status: 410, code: 'resync_required' }, false],
    ['socket', { code: 'rate_limited' }, true],
    ['socket', { code: 'unavailable' }, true],
    ...['bad_request', 'unknown_event', 'forbidden', 'conflict', 'unauthorized', 'token_expired', 'internal_error'].map(
      (code): [ParleyErrorKind, ParleyError['details'], boolean] => ['socket', { code }, false],
    ),
    // A socket code on an HTTP error, or a status on a socket error, does not count.
    ['http', { status: 400, code: 'unavailable' }, false],
    ['socket', { status: 503, code: 'forbidden' }, false],
  ];

  it.each(cases)('%s %j: %s', (kind, details, transient) => {
    const error = new ParleyError('x', kind, details);
    expect(error.transient).toBe(transient);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ParleyError');
  });
});
