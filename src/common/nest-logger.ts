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
 * (`log({ fields }, 'text', 'Context')`). A trailing string is the context, as Nest's
 * Logger appends it.
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
    const plainObject = message !== null && typeof message === 'object' && !(message instanceof Error);
    const context = plainObject ? popContext(rest) : popString(rest);
    const fields: Record<string, unknown> = context ? { context } : {};
    if (message instanceof Error) {
      logger[level]({ ...fields, err: message }, asString(rest[0]) ?? message.message);
    } else if (plainObject) {
      logger[level]({ ...fields, ...(message as object) }, asString(rest[0]));
    } else {
      // Nest's error(message, stack): the second string is a stack trace.
      const stack = asString(rest[0]);
      logger[level](stack ? { ...fields, stack } : fields, String(message));
    }
  }
}

function popString(params: unknown[]): string | undefined {
  return typeof params[params.length - 1] === 'string' ? (params.pop() as string) : undefined;
}

/** `log({ fields }, 'text')` without a context leaves one string, the text: keep it. */
function popContext(params: unknown[]): string | undefined {
  return params.length > 1 ? popString(params) : undefined;
}

function asString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
