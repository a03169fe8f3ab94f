import { Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { ChangeRow, LogPoint } from '../sync/change-log.repository';
import { SyncService } from '../sync/sync.service';
import { ConnectionRegistry } from './connection-registry.service';
import { FanoutService } from './fanout.service';
import { RealtimeMetrics } from './realtime.metrics';
import type { RealtimeConfig } from './realtime.config';
import { changeFrame } from './ws-protocol';

/**
 * Live delivery that does not depend on the event bus alone. Events travel Redis
 * pub/sub, which loses what is published while it is down, and an instance killed
 * between its commit and its publish never publishes at all. The change log has every
 * change, committed with it, so each instance also follows the log: every
 * LOG_FOLLOW_MS it takes a snapshot, and once a snapshot is LIVE_REPAIR_AFTER_MS old it
 * reads the changes that snapshot sees and the previous one did not. Those this
 * instance has not pushed (FanoutService's ledger) lost their event: it pushes them now,
 * from the log, to its sockets of the users who may see them. A change's event may thus
 * be late by about LOG_FOLLOW_MS + LIVE_REPAIR_AFTER_MS, never lost, never pushed twice.
 *
 * The cost when nothing fails: one indexed read of the log's newest rows per tick.
 */
@Injectable()
export class LogFollower implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('LogFollower');
  private readonly followMs: number;
  private readonly repairAfterMs: number;
  /** Every change this point sees was pushed here, or is being. */
  private followed?: LogPoint;
  /** Points taken since, oldest first, with when they were taken here. */
  private readonly points: (LogPoint & { takenAt: number })[] = [];
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private failing = false;

  constructor(
    private readonly sync: SyncService,
    private readonly fanout: FanoutService,
    private readonly registry: ConnectionRegistry,
    private readonly metrics: RealtimeMetrics,
    config: ConfigService<RealtimeConfig, true>,
  ) {
    this.followMs = config.get('LOG_FOLLOW_MS', { infer: true });
    this.repairAfterMs = config.get('LIVE_REPAIR_AFTER_MS', { infer: true });
  }

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.tick(), this.followMs).unref();
    void this.tick();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One step; a step still running makes this one a no-op. */
  tick(now = Date.now()): Promise<void> {
    if (this.running) return this.running;
    this.running = this.step(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(now: number): Promise<void> {
    try {
      const point = await this.sync.point();
      if (!this.followed) {
        // From here on: what committed before this instance had sockets concerns none of them.
        this.followed = point;
        return;
      }
      this.points.push({ ...point, takenAt: now });
      let due: LogPoint | undefined;
      while (this.points.length && now - this.points[0].takenAt >= this.repairAfterMs) due = this.points.shift();
      if (!due) return;
      const rows = await this.sync.changesBetween(this.followed, due);
      const lost = rows.filter((row) => this.fanout.ledger.settle(row.conversation_id, Number(row.pos)));
      if (lost.length) {
        try {
          await this.push(lost);
        } catch (error) {
          // Not pushed: the next step reads them again.
          for (const row of lost) this.fanout.ledger.release(row.conversation_id, Number(row.pos));
          throw error;
        }
      }
      this.followed = due;
      if (this.failing) this.logger.log('following the change log again');
      this.failing = false;
    } catch (error) {
      this.metrics.followFailures.inc();
      if (!this.failing) this.logger.warn({ err: error }, 'reading the change log failed; retrying');
      this.failing = true;
    }
  }

  /** The changes, rendered as the live events, to this instance's sockets of the users who may see them. */
  private async push(rows: (ChangeRow & { xid: string })[]): Promise<void> {
    const local = new Set<string>();
    for (const connection of this.registry.all()) local.add(connection.userId);
    const audience = await this.sync.audienceOf(rows, [...local]);
    const viewers = [...new Set([...audience.values()].flat())];
    this.metrics.liveRepaired.inc(rows.length);
    if (!viewers.length) return;
    const rendered = await this.sync.render(rows, viewers);
    const xids = new Map(rows.map((r) => [`${r.conversation_id}:${r.pos}`, r.xid]));
    for (const viewer of viewers) {
      for (const change of rendered.get(viewer)!) {
        const key = `${change.conversationId}:${change.pos}`;
        if (!audience.get(key)!.includes(viewer)) continue;
        const at = { conversationId: change.conversationId, pos: change.pos };
        this.registry.sendToUser(viewer, changeFrame(change.event, change.data, at), { ...at, xid: xids.get(key)! });
      }
    }
  }
}
