import { Controller, Get } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckResult, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import { Public } from '../auth/public.decorator';
import type { Environment } from '../config/environment';
import { RatePolicy } from '../rate-limit/rate-limit.decorator';

@ApiTags('health')
@Public()
@RatePolicy('none')
@Controller('health')
export class HealthController {
  private readonly databaseTimeoutMs: number;

  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    config: ConfigService<Environment, true>,
  ) {
    this.databaseTimeoutMs = config.get('HEALTH_DB_TIMEOUT_MS', { infer: true });
  }

  @Get()
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: the database answers within HEALTH_DB_TIMEOUT_MS' })
  @ApiServiceUnavailableResponse({ description: 'A dependency is down' })
  ready(): Promise<HealthCheckResult> {
    return this.health.check([() => this.database.pingCheck('database').withTimeout(this.databaseTimeoutMs)]);
  }

  @Get('live')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process answers' })
  @ApiOkResponse()
  live(): Promise<HealthCheckResult> {
    return this.health.check([]);
  }
}
