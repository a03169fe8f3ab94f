import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebSocket } from 'ws';
import type { RealtimeConfig } from './realtime.config';
import type { Connection } from './connection';
import { RealtimeMetrics } from './realtime.metrics';

/**
 * Open sockets of this instance, by user and by socket. Fan-out reads it to find
 * a user's sockets without any query; `send` is the one place frames go out.
 */
@Injectable()
export class ConnectionRegistry {
  private readonly byUser = new Map<string, Set<Connection>>();
  private readonly bySocket = new Map<WebSocket, Connection>();
  private readonly maxBufferedBytes: number;

  constructor(
    private readonly metrics: RealtimeMetrics,
    config: ConfigService<RealtimeConfig, true>,
  ) {
    this.maxBufferedBytes = config.get('WS_MAX_BUFFERED_BYTES', { infer: true });
  }

  add(connection: Connection): void {
    this.bySocket.set(connection.socket, connection);
    const sockets = this.byUser.get(connection.userId) ?? new Set();
    sockets.add(connection);
    this.byUser.set(connection.userId, sockets);
  }

  remove(socket: WebSocket): Connection | undefined {
    const connection = this.bySocket.get(socket);
    if (!connection) return undefined;
    this.bySocket.delete(socket);
    const sockets = this.byUser.get(connection.userId)!;
    sockets.delete(connection);
    if (!sockets.size) this.byUser.delete(connection.userId);
    connection.dispose();
    return connection;
  }

  get(socket: WebSocket): Connection | undefined {
    return this.bySocket.get(socket);
  }

  socketsOf(userId: string): ReadonlySet<Connection> | undefined {
    return this.byUser.get(userId);
  }

  countOf(userId: string): number {
    return this.byUser.get(userId)?.size ?? 0;
  }

  all(): IterableIterator<Connection> {
    return this.bySocket.values();
  }

  get size(): number {
    return this.bySocket.size;
  }

  get userCount(): number {
    return this.byUser.size;
  }

  /**
   * Sends one serialised frame. A slow consumer whose unsent data passed
   * WS_MAX_BUFFERED_BYTES is terminated instead: memory stays bounded, and the
   * client reconnects and catches up with `after=<seq>`.
   */
  send(connection: Connection, text: string): void {
    const socket = connection.socket;
    if (socket.readyState !== WebSocket.OPEN) return;
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      this.metrics.slowConsumers.inc();
      socket.terminate();
      return;
    }
    socket.send(text);
    this.metrics.framesOut.inc();
  }

  sendToUser(userId: string, text: string, except?: Connection): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    for (const connection of sockets) if (connection !== except) this.send(connection, text);
  }
}
