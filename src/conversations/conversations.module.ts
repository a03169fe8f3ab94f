import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MessageSummariesModule } from '../messages/message-summaries.module';
import { PresenceModule } from '../presence/presence.module';
import { UsersModule } from '../users/users.module';
import { ConversationsController, UnreadController } from './conversations.controller';
import { ConversationsService } from './conversations.service';
import { Conversation } from './entities/conversation.entity';
import { Participant } from './entities/participant.entity';

@Module({
  imports: [TypeOrmModule.forFeature([Conversation, Participant]), UsersModule, PresenceModule, MessageSummariesModule],
  controllers: [ConversationsController, UnreadController],
  providers: [ConversationsService],
  exports: [ConversationsService],
})
export class ConversationsModule {}
