import { Global, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { DrainState } from './drain.service';
import { HealthController } from './health.controller';

/** Global for DrainState, which the gateway and the HTTP setup read too. */
@Global()
@Module({
  // Terminus would log an error line for every failing poll; an outage is logged once,
  // as a warning, by whatever watches the dependency (RedisService, DatabaseAvailability).
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [DrainState],
  exports: [DrainState],
})
export class HealthModule {}
