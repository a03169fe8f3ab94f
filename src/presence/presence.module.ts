import { Module } from '@nestjs/common';
import { UsersModule } from '../users/users.module';
import { PresenceService } from './presence.service';

@Module({
  imports: [UsersModule],
  providers: [PresenceService],
  exports: [PresenceService],
})
export class PresenceModule {}
