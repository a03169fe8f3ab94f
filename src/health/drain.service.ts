import { Injectable } from '@nestjs/common';

/**
 * The first phase of a graceful shutdown (SHUTDOWN_DRAIN_MS): the instance still
 * serves every request, but readiness fails so that a load balancer moves traffic
 * away, responses close their keep-alive connections, and no new WebSocket is
 * taken. Only then does it stop accepting connections (main.ts).
 */
@Injectable()
export class DrainState {
  draining = false;

  start(): void {
    this.draining = true;
  }
}
