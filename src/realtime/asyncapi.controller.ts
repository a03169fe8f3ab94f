import { Controller, Get, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request } from 'express';
import { Public } from '../common/decorators/public.decorator';
import { serverOf } from '../common/request-origin';
import { asyncApiDocument } from './asyncapi';

@ApiExcludeController()
@Public()
@SkipThrottle({ rest: true })
@Controller('docs')
export class AsyncApiController {
  @Get('asyncapi.json')
  asyncApi(@Req() request: Request): Record<string, unknown> {
    return asyncApiDocument(serverOf(request));
  }
}
