import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { CLOSE_CODES } from './ws-protocol';

/** Close codes counted by name; a client may close with any of 4000-4999, so the rest count as `other`. */
const COUNTED_CLOSE_CODES = new Set<number>([1000, 1005, 1006, ...Object.values(CLOSE_CODES)]);

/** The gateway's Prometheus metrics, in the app's registry. */
@Injectable()
export class RealtimeMetrics {
  readonly connections: Gauge;
  readonly onlineUsers: Gauge;
  readonly framesIn: Counter;
  readonly framesOut: Counter;
  readonly slowConsumers: Counter;
  readonly fanoutDuration: Histogram;
  readonly orderWaitsExpired: Counter;
  readonly orderLateDropped: Counter;
  readonly liveRepaired: Counter;
  readonly followFailures: Counter;
  private readonly closes: Counter<'code'>;

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.connections = new Gauge({
      name: 'ws_connections',
      help: 'Open WebSocket connections on this instance',
      registers,
    });
    this.onlineUsers = new Gauge({
      name: 'ws_online_users',
      help: 'Users with at least one socket on this instance',
      registers,
    });
    this.framesIn = new Counter({ name: 'ws_frames_in_total', help: 'WebSocket frames received', registers });
    this.framesOut = new Counter({ name: 'ws_frames_out_total', help: 'WebSocket frames sent', registers });
    this.slowConsumers = new Counter({
      name: 'ws_slow_consumers_total',
      help: 'Sockets terminated because their send buffer passed WS_MAX_BUFFERED_BYTES',
      registers,
    });
    this.fanoutDuration = new Histogram({
      name: 'ws_fanout_duration_seconds',
      help: 'From the commit of a change (its event published) to the last socket write of its fan-out',
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
      registers,
    });
    this.orderWaitsExpired = new Counter({
      name: 'ws_order_waits_expired_total',
      help: 'message.created held for a missing earlier seq that did not come within the wait (then sent with a gap)',
      registers,
    });
    this.closes = new Counter({
      name: 'ws_closes_total',
      help: 'Sockets closed or refused, by close code (1000, 1001, 1005, 1006, 1008, 1009, 1013, 4401, 4429, other)',
      labelNames: ['code'] as const,
      registers,
    });
    this.orderLateDropped = new Counter({
      name: 'ws_order_late_dropped_total',
      help: 'message.created that came after its wait had ended: not pushed in order (the log follower pushes it)',
      registers,
    });
    this.liveRepaired = new Counter({
      name: 'ws_live_repaired_total',
      help: 'Stored changes pushed from the change log because their event did not reach this instance in time',
      registers,
    });
    this.followFailures = new Counter({
      name: 'ws_log_follow_failures_total',
      help: 'Reads of the change log by the log follower that failed (retried at the next tick)',
      registers,
    });
  }

  closed(code: number): void {
    this.closes.inc({ code: COUNTED_CLOSE_CODES.has(code) ? String(code) : 'other' });
  }
}
