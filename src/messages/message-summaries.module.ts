import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Message } from './entities/message.entity';
import { Reaction } from './entities/reaction.entity';
import { MessageSummariesService } from './message-summaries.service';

/** The read side of messages that Conversations needs, with no dependency back on it. */
@Module({
  imports: [TypeOrmModule.forFeature([Message, Reaction])],
  providers: [MessageSummariesService],
  exports: [MessageSummariesService],
})
export class MessageSummariesModule {}
