import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Writable } from 'node:stream';
import type { Logger } from 'pino';
import { createRootLogger, redactUrl, requestLogger, SECRET_QUERY_PARAMETERS, serializeRequest } from './logging';

describe('logging', () => {
  it('redacts the token query parameter of a URL', () => {
    expect(redactUrl('/ws?token=eyJ.abc.def&x=1')).toBe('/ws?token=[REDACTED]&x=1');
    expect(redactUrl('/ws?a=1&TOKEN=secret')).toBe('/ws?a=1&TOKEN=[REDACTED]');
    expect(redactUrl('/api/v1/users?query=token')).toBe('/api/v1/users?query=token');
  });

  it.each(SECRET_QUERY_PARAMETERS)('redacts the %s query parameter, in any case, wherever it stands', (name) => {
    expect(redactUrl(`/ws?${name}=s3cret`)).toBe(`/ws?${name}=[REDACTED]`);
    expect(redactUrl(`/x?a=1&${name.toUpperCase()}=s3cret&b=2#f`)).toBe(
      `/x?a=1&${name.toUpperCase()}=[REDACTED]&b=2#f`,
    );
    expect(redactUrl(`/x?${name}=one&${name}=two`)).toBe(`/x?${name}=[REDACTED]&${name}=[REDACTED]`);
  });

  it('leaves other parameters, and secret names used as values or inside other names, as they are', () => {
    expect(redactUrl('/x?limit=5&after=3')).toBe('/x?limit=5&after=3');
    expect(redactUrl('/x?q=access_token&monkey=1&tokens=2')).toBe('/x?q=access_token&monkey=1&tokens=2');
    expect(redactUrl(undefined)).toBeUndefined();
  });

  it('never writes authorization headers, passwords or tokens', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = createRootLogger({ LOG_LEVEL: 'info' }, sink);
    logger.info({ req: { headers: { authorization: 'Bearer secret-jwt' }, query: { token: 'secret-q' } } }, 'request');
    logger.info({ body: { username: 'alice', password: 'hunter22', refreshToken: 'secret-rt' } }, 'body');
    logger.info({ res: { headers: { 'set-cookie': 'sid=secret-cookie' } } }, 'response');
    const text = lines.join('');
    expect(text).not.toMatch(/secret-jwt|secret-q|hunter22|secret-rt|secret-cookie/);
    expect(text).toContain('[REDACTED]');
    expect(text).toContain('alice');
  });

  it('logs a request by method, redacted URL, address and agent, never its headers', () => {
    const line = serializeRequest({
      id: 'r1',
      method: 'GET',
      url: '/ws?token=eyJ.secret.sig',
      remoteAddress: '127.0.0.1',
      headers: { authorization: 'Bearer secret-jwt', cookie: 'sid=secret', 'user-agent': 'app/1.0' },
    });
    expect(line).toEqual({
      id: 'r1',
      method: 'GET',
      url: '/ws?token=[REDACTED]',
      remoteAddress: '127.0.0.1',
      userAgent: 'app/1.0',
    });
  });

  describe('requestLogger', () => {
    function harness(level: string) {
      const lines: Record<string, unknown>[] = [];
      const sink = new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(chunk.toString()));
          done();
        },
      });
      const middleware = requestLogger(createRootLogger({ LOG_LEVEL: level as 'info' }, sink));
      const request = (url: string, headers: Record<string, string> = {}) => {
        const req = Object.assign(new EventEmitter(), {
          url,
          method: 'POST',
          headers: { authorization: 'Bearer secret-jwt', 'user-agent': 'app/2', ...headers },
          socket: { remoteAddress: '10.0.0.9' },
        }) as unknown as IncomingMessage & { id?: string; log?: Logger };
        const res = Object.assign(new EventEmitter(), {
          statusCode: 200,
          writableFinished: false,
          headers: {} as Record<string, unknown>,
          setHeader(name: string, value: unknown) {
            this.headers[name.toLowerCase()] = value;
          },
        });
        let nextCalled = false;
        middleware(req, res as unknown as ServerResponse, () => (nextCalled = true));
        const end = (status: number, finished = true) => {
          res.statusCode = status;
          res.writableFinished = finished;
          res.emit(finished ? 'finish' : 'close');
          if (finished) res.emit('close');
        };
        return { req, res, end, nextCalled: () => nextCalled };
      };
      return { lines, request };
    }

    it('writes one line per response, by status, with the request named and no header copied', () => {
      const { lines, request } = harness('info');
      const ok = request('/api/v1/x?token=secret-q', { 'x-request-id': 'given-1' });
      expect(ok.nextCalled()).toBe(true);
      expect(ok.res.headers['x-request-id']).toBe('given-1');
      ok.end(201);
      request('/api/v1/y').end(404);
      request('/api/v1/z').end(500);
      request('/api/v1/slow').end(200, false);
      expect(lines.map((l) => [l.level, l.msg, (l.res as { statusCode: number }).statusCode])).toEqual([
        [30, 'request completed', 201],
        [40, 'request completed', 404],
        [50, 'request completed', 500],
        [40, 'request aborted', 200],
      ]);
      expect(lines[0].req).toEqual({
        id: 'given-1',
        method: 'POST',
        url: '/api/v1/x?token=[REDACTED]',
        remoteAddress: '10.0.0.9',
        userAgent: 'app/2',
      });
      expect(typeof lines[0].responseTime).toBe('number');
      expect(JSON.stringify(lines)).not.toMatch(/secret-jwt|secret-q/);
    });

    it('names the user of an authenticated request (set by the auth guard during the request)', () => {
      const { lines, request } = harness('info');
      const authenticated = request('/api/v1/users/me');
      (authenticated.req as unknown as { user: { id: string } }).user = { id: 'user-1' };
      authenticated.end(200);
      request('/api/v1/auth/login').end(401);
      expect(lines.map((l) => (l.req as { userId?: string }).userId)).toEqual(['user-1', undefined]);
    });

    it('makes up an id when none or an unsafe one is given, and binds it to req.log', () => {
      const { lines, request } = harness('info');
      const r = request('/api/v1/x', { 'x-request-id': 'bad id' });
      expect(r.req.id).toMatch(/^[0-9a-f-]{36}$/);
      (r.req.log as { info: (msg: string) => void }).info('inside');
      expect(lines[0]).toMatchObject({ reqId: r.req.id, msg: 'inside' });
    });

    it('logs health probes and scrapes only when they fail, and nothing below LOG_LEVEL', () => {
      const quiet = harness('info');
      quiet.request('/health').end(200);
      quiet.request('/health/live').end(200);
      quiet.request('/metrics').end(200);
      expect(quiet.lines).toEqual([]);
      quiet.request('/health').end(503);
      quiet.request('/metrics').end(401);
      expect(
        quiet.lines.map((l) => [l.level, (l.req as { url: string }).url, (l.res as { statusCode: number }).statusCode]),
      ).toEqual([
        [40, '/health', 503],
        [40, '/metrics', 401],
      ]);
      const warnOnly = harness('warn');
      warnOnly.request('/api/v1/x').end(200);
      warnOnly.request('/api/v1/x').end(400);
      expect(warnOnly.lines.map((l) => l.level)).toEqual([40]);
    });
  });
});
