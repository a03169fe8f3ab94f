import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { Public } from '../common/decorators/public.decorator';
import { SkipThrottle } from '@nestjs/throttler';
import { MetricsService } from './metrics.service';

@ApiTags('metrics')
// `security: []` (buildOpenApiDocument) as long as METRICS_TOKEN is unset; with it set, metricsTokenGate
// wants it as a bearer token: a deployment's choice, told in the 401 rather than as a second scheme.
@ApiErrors({
  401: 'METRICS_TOKEN is set and the request does not carry it as `Authorization: Bearer`',
  404: 'Not served on this port: METRICS_PORT is set (its own port), or NODE_ENV=production without METRICS_TOKEN',
})
@Public()
@SkipThrottle({ rest: true })
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description: 'Open unless METRICS_TOKEN is set: then only with `Authorization: Bearer <METRICS_TOKEN>`.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'The metrics', schema: { type: 'string' } })
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
