import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../common/decorators/public.decorator';
import { RatePolicy } from '../rate-limit/rate-limit.decorator';
import { asyncApiDocument } from './asyncapi';

@ApiExcludeController()
@Public()
@RatePolicy('none')
@Controller('docs')
export class AsyncApiController {
  private readonly document = asyncApiDocument();

  @Get('asyncapi.json')
  asyncApi(): Record<string, unknown> {
    return this.document;
  }
}
