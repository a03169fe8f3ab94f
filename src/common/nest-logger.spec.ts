import { Writable } from 'node:stream';
import pino from 'pino';
import { PinoNestLogger, requestScopedLogger } from './nest-logger';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  const root = pino({ level: 'debug', base: undefined, timestamp: false }, stream);
  return { root, lines, logger: new PinoNestLogger(root) };
}

describe('PinoNestLogger', () => {
  it("writes Nest's style: text, then context", () => {
    const { logger, lines } = capture();
    logger.log('Mapped {/x, GET} route', 'RouterExplorer');
    expect(lines).toEqual([{ level: 30, context: 'RouterExplorer', msg: 'Mapped {/x, GET} route' }]);
  });

  it("keeps error(text, stack, context)'s stack", () => {
    const { logger, lines } = capture();
    logger.error('boom', 'Error: boom\n    at x', 'ExceptionHandler');
    expect(lines).toEqual([{ level: 50, context: 'ExceptionHandler', stack: 'Error: boom\n    at x', msg: 'boom' }]);
  });

  it("writes pino's style through Nest's Logger: fields, text, context", () => {
    const { logger, lines } = capture();
    logger.warn({ client: 'events' }, 'Redis reconnected', 'RedisService');
    logger.log({ downMs: 3 }, 'Database');
    logger.log('text first', { port: 9 }, 'MetricsServer');
    expect(lines).toEqual([
      { level: 40, context: 'RedisService', client: 'events', msg: 'Redis reconnected' },
      { level: 30, context: 'Database', downMs: 3 },
      { level: 30, context: 'MetricsServer', port: 9, msg: 'text first' },
    ]);
  });

  it('serialises an Error as err', () => {
    const { logger, lines } = capture();
    logger.error(new Error('lost'), 'Db');
    expect(lines[0]).toMatchObject({ level: 50, context: 'Db', msg: 'lost', err: { message: 'lost', type: 'Error' } });
  });

  it("writes with the request's logger (its reqId) while a request is served, and skips disabled levels", () => {
    const { root, logger, lines } = capture();
    requestScopedLogger.run(root.child({ reqId: 'r-1' }), () => logger.log('inside', 'Ctx'));
    logger.verbose('trace is below debug', 'Ctx');
    logger.debug('outside', 'Ctx');
    expect(lines).toEqual([
      { level: 30, reqId: 'r-1', context: 'Ctx', msg: 'inside' },
      { level: 20, context: 'Ctx', msg: 'outside' },
    ]);
  });
});
