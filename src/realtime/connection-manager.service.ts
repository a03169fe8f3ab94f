import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import { AccessTokenService, bearerToken, type AuthenticatedUser } from '../auth/access-token.service';
import { DrainState } from '../health/drain.service';
import { PresenceService } from '../presence/presence.service';
import { RateLimitsService } from '../rate-limit/rate-limits.service';
import { USER_GONE, UsersService } from '../users/users.service';
import { Connection, type FrameVerdict } from './connection';
import { ConnectionRegistry } from './connection-registry.service';
import type { FrameGate } from './parley-ws.adapter';
import { RealtimeMetrics } from './realtime.metrics';
import type { RealtimeConfig } from './realtime.config';
import { ResumeService } from './resume.service';
import { TypingService } from './typing.service';
import { WsException } from '@nestjs/websockets';
import { wsError } from './ws-error.filter';
import { CLOSE_CODES, ERROR_CODES, frame } from './ws-protocol';

/**
 * Who is connected to this instance: the handshake (token, existing user,
 * MAX_CONNECTIONS_PER_USER across the cluster, `connected`), the frame limit as
 * frames arrive, the heartbeat, what a closed socket leaves behind, and closing
 * sockets when the user is deleted or the server shuts down. The gateway only
 * handles frames.
 */
@Injectable()
export class ConnectionManager implements FrameGate, OnModuleInit, OnModuleDestroy {
  /** One line per socket: connected (info), refused (warn, with its close code), closed (info, code and duration). */
  private readonly logger = new Logger('Realtime');
  readonly maxFrameBytes: number;
  private readonly maxPerUser: number;
  private readonly heartbeatMs: number;
  private readonly framesPerSecond: number;
  private heartbeat?: NodeJS.Timeout;
  private unsubscribeDeletions?: () => void;
  private closing = false;
  private readonly send = (connection: Connection, text: string) => this.registry.send(connection, text);

  constructor(
    private readonly tokens: AccessTokenService,
    private readonly registry: ConnectionRegistry,
    private readonly presence: PresenceService,
    private readonly typing: TypingService,
    private readonly users: UsersService,
    private readonly limits: RateLimitsService,
    private readonly drain: DrainState,
    private readonly metrics: RealtimeMetrics,
    private readonly resume: ResumeService,
    config: ConfigService<RealtimeConfig, true>,
  ) {
    this.maxFrameBytes = config.get('WS_MAX_FRAME_BYTES', { infer: true });
    this.maxPerUser = config.get('MAX_CONNECTIONS_PER_USER', { infer: true });
    this.heartbeatMs = config.get('WS_HEARTBEAT_MS', { infer: true });
    this.framesPerSecond = limits.rules.frames.limit;
  }

  onModuleInit(): void {
    this.heartbeat = setInterval(() => {
      for (const connection of this.registry.all()) connection.heartbeat();
    }, this.heartbeatMs).unref();
    this.unsubscribeDeletions = this.users.onDeleted((userId) => this.endUser(userId));
  }

  /** Shutdown, before HTTP and the database close: no new sockets, the open ones closed with 1001. */
  onModuleDestroy(): void {
    this.closing = true;
    clearInterval(this.heartbeat);
    this.unsubscribeDeletions?.();
    for (const connection of [...this.registry.all()]) connection.close(CLOSE_CODES.goingAway, 'server shutting down');
  }

  // ---- handshake and close -----------------------------------------------

  /**
   * Registers the socket at once (its frames wait for `ready`), then admits it:
   * the user must exist, and a presence slot be free (MAX_CONNECTIONS_PER_USER holds
   * for the whole cluster with Redis). Only then is `connected` sent.
   */
  open(socket: WebSocket, request: IncomingMessage): void {
    const remoteAddress = request.socket.remoteAddress;
    if (this.closing || this.drain.draining) {
      this.logger.warn({ code: CLOSE_CODES.goingAway, reason: 'shutting down', remoteAddress }, 'socket refused');
      this.metrics.closed(CLOSE_CODES.goingAway);
      socket.close(CLOSE_CODES.goingAway, 'server shutting down');
      return;
    }
    let auth: AuthenticatedUser;
    try {
      auth = this.tokens.verify(tokenOf(request) ?? '');
    } catch {
      this.logger.warn({ code: CLOSE_CODES.unauthorized, reason: 'unauthorized', remoteAddress }, 'socket refused');
      this.metrics.closed(CLOSE_CODES.unauthorized);
      socket.close(CLOSE_CODES.unauthorized, 'unauthorized');
      return;
    }
    const connection = new Connection(socket, auth.userId, auth.expiresAt, this.send);
    const since = sinceOf(request);
    // Held from now on: the resume's replay then reads a snapshot taken after this.
    if (since) this.resume.hold(connection);
    this.registry.add(connection);
    connection.ready = this.admit(connection, since);
  }

  /** The socket closed: what it held goes (registry, frame count, typing, presence slot). */
  closed(socket: WebSocket): void {
    const connection = this.registry.remove(socket);
    if (!connection) return;
    this.limits.forgetFrames(connection.id);
    if (!this.registry.countOf(connection.userId)) this.typing.stopAll(connection.userId);
    if (connection.presenceSlot) this.presence.release(connection.userId, connection.presenceSlot);
    this.updateGauges();
  }

  private async admit(connection: Connection, since?: string): Promise<boolean> {
    const { socket, userId } = connection;
    let exists: boolean;
    try {
      exists = await this.users.exists(userId);
    } catch {
      // The database is unavailable (logged once by DatabaseAvailability): come back later.
      return this.refuse(connection, CLOSE_CODES.tryAgainLater, 'unavailable');
    }
    if (!exists) return this.refuse(connection, CLOSE_CODES.unauthorized, 'unauthorized');
    const slot = await this.presence.acquire(userId, this.maxPerUser);
    if (!slot) return this.refuse(connection, CLOSE_CODES.tooManyConnections, 'too_many_connections');
    if (!this.registry.get(socket) || socket.readyState !== socket.OPEN) {
      // Gone while we waited: give the slot back.
      this.presence.release(userId, slot);
      return false;
    }
    connection.presenceSlot = slot;
    connection.start();
    const connectedAt = Date.now();
    const fields = { userId, connectionId: connection.id };
    this.logger.log(fields, 'socket connected');
    socket.once('close', (code: number) => {
      this.logger.log({ ...fields, code, durationMs: Date.now() - connectedAt }, 'socket closed');
      this.metrics.closed(code);
    });
    this.registry.send(
      connection,
      frame('connected', {
        userId,
        connectionId: connection.id,
        serverTime: new Date().toISOString(),
        heartbeatMs: this.heartbeatMs,
      }),
    );
    this.updateGauges();
    if (since) void this.resumeFromUpgrade(connection, since);
    return true;
  }

  /** `?since=`: the replay right after `connected`; a failure is an `error` frame, as for a `sync` frame. */
  private async resumeFromUpgrade(connection: Connection, since: string): Promise<void> {
    try {
      await this.resume.resume(connection, since);
    } catch (error) {
      const body = error instanceof WsException ? (error.getError() as { code: string; message: string }) : undefined;
      if (!body) this.logger.error({ err: error, userId: connection.userId }, 'resume failed');
      const data = body ?? { code: ERROR_CODES.internal, message: 'Internal error' };
      this.send(connection, frame('error', { ...data, event: 'sync' }));
    }
  }

  private refuse(connection: Connection, code: number, reason: string): false {
    this.logger.warn({ userId: connection.userId, connectionId: connection.id, code, reason }, 'socket refused');
    this.metrics.closed(code);
    this.registry.remove(connection.socket);
    connection.close(code, reason);
    return false;
  }

  /** A deleted user's sockets: error unauthorized, then 4401, as for a token that went bad. */
  private endUser(userId: string): void {
    for (const connection of [...(this.registry.socketsOf(userId) ?? [])]) {
      connection.end(CLOSE_CODES.unauthorized, 'unauthorized', { code: ERROR_CODES.unauthorized, message: USER_GONE });
    }
  }

  // ---- frames ------------------------------------------------------------

  /** The adapter holds a socket's frames until this resolves. */
  ready(socket: WebSocket): Promise<boolean> {
    return this.registry.get(socket)?.ready ?? Promise.resolve(false);
  }

  /** The per-socket frame limit, as each frame arrives (before it is queued). */
  admitFrame(socket: WebSocket): FrameVerdict | 'ignore' {
    const connection = this.registry.get(socket);
    if (!connection) return 'ignore';
    this.metrics.framesIn.inc();
    return connection.judgeFrame(this.limits.admitFrame(connection.id), this.framesPerSecond);
  }

  describe(socket: WebSocket): { connectionId: string; userId: string } | undefined {
    const connection = this.registry.get(socket);
    return connection && { connectionId: connection.id, userId: connection.userId };
  }

  /** The authenticated connection of a socket; `unauthorized` (then 4401) for anything else. */
  connectionOf(socket: WebSocket): Connection {
    const connection = this.registry.get(socket);
    if (!connection) throw wsError(ERROR_CODES.unauthorized, 'Not authenticated');
    return connection;
  }

  /** `auth {token}`: a fresh token of the same user moves the expiry. */
  renew(socket: WebSocket, token: string): Date {
    const connection = this.connectionOf(socket);
    let auth: AuthenticatedUser;
    try {
      auth = this.tokens.verify(token);
    } catch {
      throw wsError(ERROR_CODES.unauthorized, 'Invalid or expired access token');
    }
    if (auth.userId !== connection.userId) throw wsError(ERROR_CODES.unauthorized, 'The token belongs to another user');
    connection.renew(auth.expiresAt);
    return auth.expiresAt;
  }

  private updateGauges(): void {
    this.metrics.connections.set(this.registry.size);
    this.metrics.onlineUsers.set(this.presence.onlineCount);
  }
}

/** `?since=<sync token>`: resume on connect. */
function sinceOf(request: IncomingMessage): string | undefined {
  const since = new URL(request.url ?? '/', 'ws://localhost').searchParams.get('since');
  return since || undefined;
}

/** `?token=` (browsers) or `Authorization: Bearer` (servers). */
function tokenOf(request: IncomingMessage): string | undefined {
  const query = new URL(request.url ?? '/', 'ws://localhost').searchParams.get('token');
  return query || bearerToken(request.headers.authorization);
}
