import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { WebSocket } from 'ws';
import type { RealtimeConfig } from './realtime.config';
import type { Connection } from './connection';
import type { StoredChange } from './fanout.service';
import { RealtimeMetrics } from './realtime.metrics';

/** How long a socket remembers what it was pushed, for a `sync` frame after `connected` (Connection.pushed). */
export const LIVE_PUSHED_KEPT_MS = 10_000;

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
   * Sends one serialised frame (`written`: once it has left for the network, or failed). A slow consumer whose unsent data passed
   * WS_MAX_BUFFERED_BYTES is terminated instead: memory stays bounded, and the
   * client reconnects and catches up with `after=<seq>`.
   */
  send(connection: Connection, text: string, written?: () => void): void {
    const socket = connection.socket;
    if (socket.readyState !== WebSocket.OPEN) return written?.();
    if (socket.bufferedAmount > this.maxBufferedBytes) {
      this.metrics.slowConsumers.inc();
      socket.terminate();
      return written?.();
    }
    socket.send(text, written && (() => written()));
    this.metrics.framesOut.inc();
  }

  /** To every socket of the user; a stored change's frame waits on a socket that is replaying (Connection.held). */
  sendToUser(userId: string, text: string, stored?: StoredChange): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    for (const connection of sockets) {
      if (connection.held) {
        connection.held.push({ text, xid: stored?.xid });
        continue;
      }
      if (stored && connection.covered) {
        if (Date.now() > connection.covered.until) connection.covered = undefined;
        else if (connection.covered.snapshot.sees(stored.xid)) continue;
      }
      if (stored && connection.pushed) {
        // A `sync` frame comes first thing after `connected`: memory is not kept for one that never comes.
        if (Date.now() - connection.openedAt > LIVE_PUSHED_KEPT_MS) connection.pushed = undefined;
        else connection.pushed.add(`${stored.conversationId}:${stored.pos}`);
      }
      this.send(connection, text);
    }
  }
}
