import type { INestApplicationContext } from '@nestjs/common';
import { WsAdapter } from '@nestjs/platform-ws';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { EMPTY, fromEvent, type Observable, of } from 'rxjs';
import { catchError, concatMap, filter, first, share, takeUntil } from 'rxjs/operators';
import type { WebSocket } from 'ws';
import { ERROR_CODES, type ErrorCode } from './ws-protocol';

/** What the adapter asks of the gateway before a frame reaches a handler. */
export interface FrameGate {
  readonly maxFrameBytes: number;
  /** `ignore`: the socket is not (or no longer) authenticated and is being closed. */
  admit(socket: WebSocket): 'ok' | 'limited' | 'close' | 'ignore';
}

type ErrorFrame = { event: 'error'; data: { code: ErrorCode; message: string; event?: string } };

/**
 * Nest's WsAdapter drops bad frames in silence; the contract wants an answer.
 * This one limits the frame size (ws closes with 1009 past WS_MAX_FRAME_BYTES),
 * applies the per-socket frame limit, and answers invalid JSON, wrong shapes and
 * unknown events with an `error` frame. Everything else is Nest's.
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
   * As Nest's, but one socket's frames are handled one after the other
   * (concatMap, not mergeMap): a `read` sent after a `message.send` must not
   * overtake it. Different sockets still run concurrently.
   */
  bindMessageHandlers(
    socket: WebSocket,
    handlers: MessageMappingProperties[],
    transform: (data: unknown) => Observable<unknown>,
  ): void {
    const byEvent = new Map(handlers.map((handler) => [handler.message as string, handler]));
    const close$ = fromEvent(socket, 'close').pipe(share(), first());
    fromEvent(socket, 'message')
      .pipe(
        concatMap((event) =>
          this.bindMessageHandler(event as { data: unknown; target: WebSocket }, byEvent, transform).pipe(
            filter((reply) => reply !== undefined && reply !== null),
            catchError((error: unknown) => {
              this.logger.error(error);
              return EMPTY;
            }),
          ),
        ),
        takeUntil(close$),
      )
      .subscribe((reply) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(reply));
      });
  }

  bindMessageHandler(
    buffer: { data: unknown; target: WebSocket },
    handlers: Map<string, MessageMappingProperties>,
    transform: (data: unknown) => Observable<unknown>,
  ): Observable<unknown> {
    const socket = buffer.target;
    const verdict = this.gate.admit(socket);
    if (verdict === 'ignore') return EMPTY;
    if (verdict === 'close') {
      socket.close(1008, 'rate_limited');
      return EMPTY;
    }
    if (verdict === 'limited') return of(errorFrame(ERROR_CODES.rateLimited, 'Too many frames: slow down'));

    if (typeof buffer.data !== 'string') return of(errorFrame(ERROR_CODES.badRequest, 'Frames must be JSON text'));
    let message: unknown;
    try {
      message = JSON.parse(buffer.data);
    } catch {
      return of(errorFrame(ERROR_CODES.badRequest, 'Frame is not valid JSON'));
    }
    if (!isObject(message) || typeof message.event !== 'string') {
      return of(errorFrame(ERROR_CODES.badRequest, 'A frame is {"event": string, "data": object}'));
    }
    const event = message.event;
    const data = message.data === undefined ? {} : message.data;
    if (!isObject(data)) return of(errorFrame(ERROR_CODES.badRequest, 'data must be an object', event));
    const handler = handlers.get(event);
    if (!handler)
      return of(errorFrame(ERROR_CODES.unknownEvent, `Unknown event "${event.slice(0, 64)}"`, event.slice(0, 64)));
    try {
      return transform(handler.callback(data, event));
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
