import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppConfig } from '../config/app.config';
import { startMetricsServer } from './metrics-access';
import type { MetricsConfig } from './metrics.config';
import { MetricsService } from './metrics.service';

/** With METRICS_PORT set, /metrics on a port of its own, for the scraper only; stops with the app. */
@Injectable()
export class MetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(MetricsServer.name);
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    private readonly config: ConfigService<MetricsConfig & AppConfig, true>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const port = this.config.get('METRICS_PORT', { infer: true });
    if (port === undefined) return;
    const settings = { METRICS_PORT: port, METRICS_TOKEN: this.config.get('METRICS_TOKEN', { infer: true }) };
    const host = this.config.get('METRICS_HOST', { infer: true }) ?? this.config.get('HOST', { infer: true });
    this.server = await startMetricsServer(this.metrics, settings, host);
    this.logger.log({ host, port: this.port }, 'metrics on their own port');
  }

  /** The port it listens on (METRICS_PORT, or the free one 0 picked); undefined without METRICS_PORT. */
  get port(): number | undefined {
    return (this.server?.address() as AddressInfo | null)?.port;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
