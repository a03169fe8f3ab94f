import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import { WsException } from '@nestjs/websockets';
import { WebSocket } from 'ws';
import { DatabaseAvailability } from '../database/database-availability.service';
import { isDatabaseUnavailable } from '../database/database-errors';
import { CLOSE_CODES, ERROR_CODES, frame, type ErrorCode, type WsErrorData } from './ws-protocol';

const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  [HttpStatus.BAD_REQUEST]: ERROR_CODES.badRequest,
  [HttpStatus.UNAUTHORIZED]: ERROR_CODES.unauthorized,
  [HttpStatus.FORBIDDEN]: ERROR_CODES.forbidden,
  // Not a participant looks like not found over REST; the socket calls it forbidden.
  [HttpStatus.NOT_FOUND]: ERROR_CODES.forbidden,
  [HttpStatus.CONFLICT]: ERROR_CODES.conflict,
  [HttpStatus.TOO_MANY_REQUESTS]: ERROR_CODES.rateLimited,
};

/**
 * Answers every failure of a gateway handler with the contract's `error` frame
 * (never Nest's `exception` event, which echoes the client's frame). An
 * `unauthorized` error also closes the socket with 4401.
 */
@Catch()
@Injectable()
export class WsErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('RealtimeGateway');

  constructor(private readonly availability: DatabaseAvailability) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const ws = host.switchToWs();
    const socket = ws.getClient<WebSocket>();
    const data = ws.getData<unknown>();
    const error: WsErrorData = { ...this.describe(exception), event: ws.getPattern() };
    const clientMessageId = (data as { clientMessageId?: unknown } | undefined)?.clientMessageId;
    if (typeof clientMessageId === 'string' && clientMessageId.length <= 64) error.clientMessageId = clientMessageId;
    if (socket.readyState !== WebSocket.OPEN) return;
    socket.send(frame('error', error));
    if (error.code === ERROR_CODES.unauthorized || error.code === ERROR_CODES.tokenExpired) {
      socket.close(CLOSE_CODES.unauthorized, 'unauthorized');
    }
  }

  private describe(exception: unknown): Pick<WsErrorData, 'code' | 'message'> {
    if (exception instanceof WsException) {
      const body = exception.getError();
      if (typeof body === 'object' && body && 'code' in body) return body as Pick<WsErrorData, 'code' | 'message'>;
      return { code: ERROR_CODES.badRequest, message: String(body) };
    }
    if (exception instanceof HttpException) {
      const code = BY_STATUS[exception.getStatus()];
      if (code) {
        const body = exception.getResponse() as { message?: string | string[] } | string;
        const message = typeof body === 'string' ? body : body.message;
        return { code, message: Array.isArray(message) ? message.join('; ') : (message ?? exception.message) };
      }
    }
    if (isDatabaseUnavailable(exception)) {
      this.availability.reportUnavailable(exception); // logged once per outage
      return { code: ERROR_CODES.unavailable, message: 'The database is unavailable, retry later' };
    }
    this.logger.error({ err: exception }, 'gateway handler failed');
    return { code: ERROR_CODES.internal, message: 'Internal error' };
  }
}

/** A WsException carrying a contract error code. */
export function wsError(code: ErrorCode, message: string): WsException {
  return new WsException({ code, message });
}
