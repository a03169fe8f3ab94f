import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { EMPTY, from, type Observable, of, Subject } from 'rxjs';
import { catchError, concatMap, filter, finalize } from 'rxjs/operators';
import type { WebSocket, WebSocketServer as WsServer } from 'ws';
import { ERROR_CODES, type ErrorCode } from './ws-protocol';

/** What the adapter asks of the gateway as each frame arrives. */
export interface FrameGate {
  readonly maxFrameBytes: number;
  /**
   * `limited`: refuse with an error; `drop`: refuse in silence (already told);
   * `close`: far over the limit, close 1008; `ignore`: not an authenticated socket.
   */
  admitFrame(socket: WebSocket): 'ok' | 'limited' | 'drop' | 'close' | 'ignore';
  /** Resolves once the socket may be served (false: it was refused). */
  ready(socket: WebSocket): Promise<boolean>;
  /** Who is on the socket, for log lines; undefined before it is registered. */
  describe(socket: WebSocket): { connectionId: string; userId: string } | undefined;
}

type ErrorFrame = { event: 'error'; data: { code: ErrorCode; message: string; event?: string } };

/** Frames of one socket waiting for earlier ones to finish; more are refused. */
export const MAX_QUEUED_FRAMES = 100;

/**
 * Nest's WsAdapter drops bad frames in silence; the contract wants an answer.
 * This one limits the frame size (ws closes with 1009 past WS_MAX_FRAME_BYTES),
 * applies the per-socket frame limit as frames arrive, handles one socket's
 * frames one after the other, and answers invalid JSON, wrong shapes and unknown
 * events with an `error` frame.
 */
export class ParleyWsAdapter extends WsAdapter {
  constructor(
    app: INestApplicationContext,
    private readonly gate: FrameGate,
  ) {
    super(app);
  }

  create(port: number, options: Record<string, unknown> = {}): unknown {
    return super.create(port, { ...options, maxPayload: this.gate.maxFrameBytes });
  }

  /**
   * A socket's `error` is what its client did wrong at the protocol level (invalid
   * UTF-8: 1007, a frame over the limit: 1009, a bad opcode or mask): ws closes it
   * with the right code. Nest logs each as an error with a stack, which lets any
   * client write error lines at will; it is a warning about that connection.
   */
  bindErrorHandler(server: WsServer): WsServer {
    server.on('connection', (socket: WebSocket) =>
      socket.on('error', (error: Error & { code?: string }) =>
        this.logger.warn(
          { ...this.gate.describe(socket), code: error.code, reason: error.message },
          'closed a WebSocket for a protocol violation',
        ),
      ),
    );
    server.on('error', (error: Error) => this.logger.error(error));
    return server;
  }

  /**
   * A `read` sent after a `message.send` must not overtake it, so frames are
   * handled in order (concatMap, where Nest uses mergeMap); the rate limit and
   * the queue cap apply on arrival, so a flood never piles up in memory.
   */
  bindMessageHandlers(
    socket: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const byEvent = new Map(handlers.map((handler) => [handler.message as string, handler]));
    const frames = new Subject<string | Buffer>();
    let queued = 0;
    const reply = (message: unknown) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
    };

    frames
      .pipe(
        concatMap((data) =>
          from(this.gate.ready(socket)).pipe(
            concatMap((ready) => (ready ? this.handleFrame(data, byEvent, transform) : EMPTY)),
            filter((answer) => answer !== undefined && answer !== null),
            catchError((error: unknown) => {
              this.logger.error(error);
              return EMPTY;
            }),
            finalize(() => (queued -= 1)),
          ),
        ),
      )
      .subscribe(reply);

    const onMessage = (data: Buffer, isBinary: boolean) => {
      const verdict = this.gate.admitFrame(socket);
      if (verdict === 'ignore' || verdict === 'drop') return;
      if (verdict === 'close') {
        socket.close(1008, 'rate_limited');
        return;
      }
      if (verdict === 'limited' || queued >= MAX_QUEUED_FRAMES) {
        reply(errorFrame(ERROR_CODES.rateLimited, 'Too many frames: slow down'));
        return;
      }
      queued += 1;
      frames.next(isBinary ? data : data.toString('utf8'));
    };
    socket.on('message', onMessage);
    socket.once('close', () => {
      socket.off('message', onMessage);
      frames.complete();
    });
  }

  private handleFrame(
    data: string | Buffer,
    handlers: Map<string, MessageMappingProperties>,
    transform: (data: unknown) => Observable<unknown>,
  ): Observable<unknown> {
    if (typeof data !== 'string') return of(errorFrame(ERROR_CODES.badRequest, 'Frames must be JSON text'));
    let message: unknown;
    try {
      message = JSON.parse(data);
    } catch {
      return of(errorFrame(ERROR_CODES.badRequest, 'Frame is not valid JSON'));
    }
    if (!isObject(message) || typeof message.event !== 'string') {
      return of(errorFrame(ERROR_CODES.badRequest, 'A frame is {"event": string, "data": object}'));
    }
    const event = message.event;
    const payload = message.data === undefined ? {} : message.data;
    if (!isObject(payload)) return of(errorFrame(ERROR_CODES.badRequest, 'data must be an object', event));
    const handler = handlers.get(event);
    if (!handler)
      return of(errorFrame(ERROR_CODES.unknownEvent, `Unknown event "${event.slice(0, 64)}"`, event.slice(0, 64)));
    try {
      return transform(handler.callback(payload, event));
    } catch {
      return of(errorFrame(ERROR_CODES.internal, 'Internal error', event));
    }
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorFrame(code: ErrorCode, message: string, event?: string): ErrorFrame {
  return { event: 'error', data: event === undefined ? { code, message } : { code, message, event } };
}
