import { Module } from '@nestjs/common';
import { MessageRepository } from './message.repository';
import { MessageSummariesService } from './message-summaries.service';

/**
 * The messages tables and the read side that Conversations needs, with no
 * dependency back on it. Its repository is for the messages feature only
 * (MessagesModule); other modules ask MessageSummariesService.
 */
@Module({
  providers: [MessageRepository, MessageSummariesService],
  exports: [MessageRepository, MessageSummariesService],
})
export class MessageSummariesModule {}
