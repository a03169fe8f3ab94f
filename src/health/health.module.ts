import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';

@Module({
  // Terminus would log an error line for every failing poll; an outage is logged once,
  // as a warning, by whatever watches the dependency (RedisService, DatabaseAvailability).
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
})
export class HealthModule {}
