import { Module } from '@nestjs/common';
import { Clock } from '../common/clock';
import { ConversationsModule } from '../conversations/conversations.module';
import { MessageSummariesModule } from '../messages/message-summaries.module';
import { ChangeLogRepository } from './change-log.repository';
import { SyncController } from './sync.controller';
import { SyncService } from './sync.service';

/** GET /sync over the change log: one cursor per user, exact catch-up bounded by retention only. */
@Module({
  imports: [ConversationsModule, MessageSummariesModule],
  controllers: [SyncController],
  providers: [ChangeLogRepository, SyncService, Clock],
  exports: [SyncService],
})
export class SyncModule {}
