import { Global, Module } from '@nestjs/common';
import { RateLimiterService } from './rate-limiter.service';

/** One limiter per process, shared by REST guards and services (and later the gateway). */
@Global()
@Module({
  providers: [RateLimiterService],
  exports: [RateLimiterService],
})
export class RateLimitModule {}
