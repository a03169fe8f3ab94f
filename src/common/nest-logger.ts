import { AsyncLocalStorage } from 'node:async_hooks';
import type { LoggerService } from '@nestjs/common';
import type { Level, Logger } from 'pino';

/** The logger bound to the request being served (its reqId), set by requestLogger. */
export const requestScopedLogger = new AsyncLocalStorage<Logger>();

/**
 * Nest's LoggerService on pino: every line Nest or a `new Logger(Context)` writes is one
 * JSON line, with the request's reqId while a request is served. Given to NestFactory.create,
 * so Nest never falls back to its coloured console logger, not even while the app is built.
 *
 * Calls come in two styles, both used here: Nest's (`log('text', 'Context')`,
 * `error('text', stack, 'Context')`) and pino's through Nest's Logger
 * (`log({ fields }, 'text', 'Context')`). The trailing string is the context, which
 * Nest's Logger appends: every Logger in this codebase is made with one
 * (`new Logger(X.name)`), and Nest's own lines carry theirs.
 */
export class PinoNestLogger implements LoggerService {
  constructor(private readonly root: Logger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    const logger = requestScopedLogger.getStore() ?? this.root;
    if (!logger.isLevelEnabled(level)) return;
    const rest = [...params];
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    // Objects after the text (`log('text', { more })`) join the fields rather than vanish.
    for (const extra of rest) if (isPlainObject(extra)) Object.assign(fields, extra);
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, asString(rest[0]) ?? message.message);
    } else if (isPlainObject(message)) {
      logger[level]({ ...fields, ...message }, asString(rest[0]));
    } else {
      // Nest's error(message, stack): the second string is a stack trace.
      const stack = asString(rest[0]);
      logger[level](stack ? { ...fields, stack } : fields, String(message));
    }
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !(value instanceof Error) && !Array.isArray(value);
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
