import { Module } from '@nestjs/common';
import { ConversationsModule } from '../conversations/conversations.module';
import { MessageSummariesModule } from './message-summaries.module';
import { MessagesController } from './messages.controller';
import { MessagesService } from './messages.service';
import { ReactionsService } from './reactions.service';
import { SendStatement } from './send.statement';

@Module({
  imports: [ConversationsModule, MessageSummariesModule],
  controllers: [MessagesController],
  providers: [SendStatement, MessagesService, ReactionsService],
  exports: [MessagesService],
})
export class MessagesModule {}
