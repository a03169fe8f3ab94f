import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { WebSocket } from 'ws';
import { ConnectionRegistry } from './connection-registry.service';
import { wsError } from './ws-error.filter';
import { ERROR_CODES } from './ws-protocol';

/**
 * Checks the socket's own auth state on every frame: message handlers are bound
 * as soon as the socket opens, so a frame must never be trusted for having
 * arrived on a socket; only a registered, unexpired connection may act.
 */
@Injectable()
export class WsAuthGuard implements CanActivate {
  constructor(private readonly registry: ConnectionRegistry) {}

  canActivate(context: ExecutionContext): boolean {
    const connection = this.registry.get(context.switchToWs().getClient<WebSocket>());
    if (!connection) throw wsError(ERROR_CODES.unauthorized, 'Not authenticated');
    if (connection.expired) throw wsError(ERROR_CODES.tokenExpired, 'Access token expired');
    return true;
  }
}
