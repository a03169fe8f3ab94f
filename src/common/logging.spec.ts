import { Writable } from 'node:stream';
import { createRootLogger, redactUrl, serializeRequest } from './logging';

describe('logging', () => {
  it('redacts the token query parameter of a URL', () => {
    expect(redactUrl('/ws?token=eyJ.abc.def&x=1')).toBe('/ws?token=[REDACTED]&x=1');
    expect(redactUrl('/ws?a=1&TOKEN=secret')).toBe('/ws?a=1&TOKEN=[REDACTED]');
    expect(redactUrl('/api/v1/users?query=token')).toBe('/api/v1/users?query=token');
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
});
