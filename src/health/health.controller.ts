import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import {
  HealthCheck,
  HealthCheckResult,
  HealthCheckService,
  HealthIndicatorFunction,
  HealthIndicatorService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
import { RedisService } from '../redis/redis.service';
import { Public } from '../common/decorators/public.decorator';
import type { HealthConfig } from './health.config';
import { SkipThrottle } from '@nestjs/throttler';
import { DrainState } from './drain.service';

@ApiTags('health')
@Public()
@SkipThrottle({ rest: true }) // never limited: probes must always get an answer
@Controller('health')
export class HealthController {
  private readonly databaseTimeoutMs: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly indicators: HealthIndicatorService,
    private readonly redis: RedisService,
    private readonly drain: DrainState,
    config: ConfigService<HealthConfig, true>,
  ) {
    this.databaseTimeoutMs = config.get('HEALTH_DB_TIMEOUT_MS', { infer: true });
  }

  @Get()
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: the database (and Redis, when configured) answer within HEALTH_DB_TIMEOUT_MS',
    description: 'Also 503 (`shutdown: down`) from SIGTERM on, while the instance drains (SHUTDOWN_DRAIN_MS).',
  })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down, or the instance is shutting down' })
  ready(): Promise<HealthCheckResult> {
    const checks: HealthIndicatorFunction[] = [
      () => this.database.pingCheck('database').withTimeout(this.databaseTimeoutMs),
    ];
    if (this.drain.draining) checks.push(() => this.indicators.check('shutdown').down({ message: 'draining' }));
    if (this.redis.enabled) checks.push(() => this.redisCheck());
    return this.health.check(checks);
  }

  private async redisCheck() {
    const indicator = this.indicators.check('redis');
    return (await this.redis.ping(this.databaseTimeoutMs))
      ? indicator.up()
      : indicator.down({ message: 'Redis does not answer' });
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }
}
