import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ConversationsModule } from '../conversations/conversations.module';
import { MessagesModule } from '../messages/messages.module';
import { PresenceModule } from '../presence/presence.module';
import { SyncModule } from '../sync/sync.module';
import { UsersModule } from '../users/users.module';
import { AsyncApiController } from './asyncapi.controller';
import { ConnectionManager } from './connection-manager.service';
import { ConnectionRegistry } from './connection-registry.service';
import { FanoutService } from './fanout.service';
import { LogFollower } from './log-follower.service';
import { PresenceNotifier } from './presence-notifier.service';
import { RealtimeGateway } from './realtime.gateway';
import { RealtimeMetrics } from './realtime.metrics';
import { ResumeService } from './resume.service';
import { TypingService } from './typing.service';
import { WsAuthGuard } from './ws-auth.guard';

@Module({
  imports: [AuthModule, ConversationsModule, MessagesModule, PresenceModule, SyncModule, UsersModule],
  controllers: [AsyncApiController],
  providers: [
    RealtimeGateway,
    ConnectionManager,
    ConnectionRegistry,
    FanoutService,
    LogFollower,
    ResumeService,
    TypingService,
    PresenceNotifier,
    RealtimeMetrics,
    WsAuthGuard,
  ],
  exports: [ConnectionManager, ConnectionRegistry],
})
export class RealtimeModule {}
