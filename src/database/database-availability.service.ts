import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Counter, Gauge } from 'prom-client';
import { DataSource } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service';
import { isDatabaseUnavailable } from './database-errors';

const PROBE_INTERVAL_MS = 1_000;

/**
 * Whether the database answers, as far as requests have found out. The first
 * failure of an outage is logged once as a warning (never a stack per request);
 * then it probes every second and logs once more when the database is back.
 * `/health` checks the database on its own, so readiness fails meanwhile.
 */
@Injectable()
export class DatabaseAvailability implements OnModuleDestroy {
  private readonly logger = new Logger('Database');
  private downSince?: number;
  private probe?: NodeJS.Timeout;
  private stopped = false;
  private readonly unavailable: Counter;
  private readonly available: Gauge;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    metrics: MetricsService,
  ) {
    this.unavailable = new Counter({
      name: 'database_unavailable_total',
      help: 'Requests, frames and background writes that failed because the database did not answer',
      registers: [metrics.registry],
    });
    this.available = new Gauge({
      name: 'database_available',
      help: '0 from the first request that found the database unavailable until a probe answers again, else 1',
      registers: [metrics.registry],
    });
    this.available.set(1);
    registerPoolGauges(dataSource, metrics);
  }

  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  /** A request failed because the database is unavailable (see isDatabaseUnavailable). */
  reportUnavailable(error: unknown): void {
    this.unavailable.inc();
    if (this.downSince !== undefined || this.stopped) return;
    this.downSince = Date.now();
    this.available.set(0);
    this.logger.warn(
      { reason: (error as Error)?.message },
      'database unavailable: answering 503 / unavailable until it is back',
    );
    this.scheduleProbe();
  }

  /**
   * For work done in the background (presence, last seen): a failure because the
   * database is away is covered by the outage's one line; anything else is a warning.
   */
  warnUnlessUnavailable(logger: Logger, error: unknown, fields: Record<string, unknown>, message: string): void {
    if (isDatabaseUnavailable(error)) this.reportUnavailable(error);
    else logger.warn({ err: error, ...fields }, message);
  }

  onModuleDestroy(): void {
    this.stopped = true;
    clearTimeout(this.probe);
  }

  private scheduleProbe(): void {
    this.probe = setTimeout(() => {
      this.dataSource.query('SELECT 1').then(
        () => {
          if (this.downSince === undefined) return;
          this.logger.log({ downMs: Date.now() - this.downSince }, 'database available again');
          this.downSince = undefined;
          this.available.set(1);
        },
        () => !this.stopped && this.scheduleProbe(),
      );
    }, PROBE_INTERVAL_MS).unref();
  }
}

/** What node-postgres's pool says about itself (TypeORM's driver keeps it as `master`). */
interface PgPool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
  options: { max: number };
}

/** The pool, read when scraped: a pool that is always full with requests waiting is the first sign of trouble. */
function registerPoolGauges(dataSource: DataSource, metrics: MetricsService): void {
  const pool = () => (dataSource.driver as unknown as { master?: PgPool }).master;
  const gauge = (name: string, help: string, read: (p: PgPool) => number) =>
    new Gauge({
      name,
      help,
      registers: [metrics.registry],
      collect() {
        const p = pool();
        if (p) this.set(read(p));
      },
    });
  gauge('database_pool_size', 'Connections the pool may open (DATABASE_POOL_SIZE)', (p) => p.options.max);
  gauge('database_pool_connections', 'Connections open, in use or idle', (p) => p.totalCount);
  gauge('database_pool_idle', 'Connections open and idle', (p) => p.idleCount);
  gauge('database_pool_waiting', 'Queries waiting for a free connection', (p) => p.waitingCount);
}
