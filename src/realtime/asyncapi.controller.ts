import { Controller, Get } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '../common/decorators/public.decorator';
import { SkipThrottle } from '@nestjs/throttler';
import { asyncApiDocument } from './asyncapi';

@ApiExcludeController()
@Public()
@SkipThrottle({ rest: true })
@Controller('docs')
export class AsyncApiController {
  private readonly document = asyncApiDocument();

  @Get('asyncapi.json')
  asyncApi(): Record<string, unknown> {
    return this.document;
  }
}
