import { Controller, Get, Req } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { SkipThrottle } from '@nestjs/throttler';
import type { Request } from 'express';
import { Public } from '../common/decorators/public.decorator';
import { asyncApiDocument, type AsyncApiServer } from './asyncapi';

/** A host, or host:port, as a Host header may carry it; anything else is not echoed into the document. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

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

/**
 * The address the client reached us at: Express's `host` and `protocol` read
 * X-Forwarded-Host/-Proto only from the proxies `trust proxy` (TRUST_PROXY_HOPS)
 * trusts, and the Host header otherwise; without a usable one, the socket's own address.
 */
export function serverOf(request: Request): AsyncApiServer {
  const protocol = request.protocol === 'https' ? 'wss' : 'ws';
  const host = request.host;
  if (host && HOST.test(host)) return { host, protocol };
  const { localAddress = 'localhost', localPort } = request.socket;
  const address = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return { host: localPort ? `${address}:${localPort}` : address, protocol };
}
