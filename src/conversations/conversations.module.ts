import { Module } from '@nestjs/common';
import { MessageSummariesModule } from '../messages/message-summaries.module';
import { PresenceModule } from '../presence/presence.module';
import { UsersModule } from '../users/users.module';
import { ConversationsController, UnreadController } from './conversations.controller';
import { ConversationRepository } from './conversation.repository';
import { ConversationsService } from './conversations.service';

@Module({
  imports: [UsersModule, PresenceModule, MessageSummariesModule],
  controllers: [ConversationsController, UnreadController],
  providers: [ConversationRepository, ConversationsService],
  exports: [ConversationsService],
})
export class ConversationsModule {}
