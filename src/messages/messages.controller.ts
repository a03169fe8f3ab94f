import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { UuidParamPipe } from '../common/uuid-param.pipe';
import { CurrentUser, type AuthUser } from '../common/decorators/current-user.decorator';
import { SkipThrottle } from '@nestjs/throttler';
import { ListMessagesQuery } from './dto/list-messages.query';
import { MessageDto, MessagePageDto, MessageReactionsDto, ReactionDto } from './dto/message.dto';
import { EditMessageDto, SendMessageDto } from './dto/send-message.dto';
import type { MessageReactions } from './reactions.service';
import { ReactionsService } from './reactions.service';
import { MessagesService } from './messages.service';

const Uuid = new UuidParamPipe();

const ConversationId = ApiParam({ name: 'id', format: 'uuid', description: 'A conversation id' });
const MessageId = ApiParam({ name: 'id', format: 'uuid', description: 'A message id' });
const Emoji = (description: string) => ApiParam({ name: 'emoji', description });
const MESSAGE_NOT_FOUND = 'Unknown message, or one in a conversation the caller does not take part in';

@ApiTags('messages')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller()
export class MessagesController {
  constructor(
    private readonly messages: MessagesService,
    private readonly reactions: ReactionsService,
  ) {}

  @Post('conversations/:id/messages')
  // RATE_SEND_PER_SEC instead of the general limit, counted by MessagesService with each batch of sends
  // (the socket's message.send counts in the same budget).
  @SkipThrottle({ rest: true })
  @ApiOperation({ summary: 'Send a message (201); the same clientMessageId again: 200 with the original' })
  @ConversationId
  @ApiCreatedResponse({ type: MessageDto })
  @ApiOkResponse({ type: MessageDto, description: 'A retry: the message sent earlier with this clientMessageId' })
  @ApiErrors({
    400: 'Fails validation, content not 1 to MESSAGE_MAX_LENGTH characters after trimming, or replyToId not a message of this conversation',
    404: 'Unknown conversation, or one the caller does not take part in',
    409: 'clientMessageId reused with different content',
    429: 'More than RATE_SEND_PER_SEC sends a second (REST and the socket together); retry after Retry-After',
  })
  async send(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) conversationId: string,
    @Body() body: SendMessageDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<MessageDto> {
    const { message, created, budget } = await this.messages.send(caller.id, conversationId, body);
    res.status(created ? HttpStatus.CREATED : HttpStatus.OK);
    if (budget) {
      res.setHeader('X-RateLimit-Limit', budget.limit);
      res.setHeader('X-RateLimit-Remaining', budget.remaining);
      res.setHeader('X-RateLimit-Reset', Math.max(1, Math.ceil(budget.resetInMs / 1000)));
    }
    return MessageDto.fromView(message, caller.id);
  }

  @Get('conversations/:id/messages')
  @ApiOperation({ summary: 'History in ascending seq: `after` to catch up after a reconnect, `before` to page back' })
  @ConversationId
  @ApiOkResponse({ type: MessagePageDto })
  @ApiErrors({ 404: 'Unknown conversation, or one the caller does not take part in' })
  async list(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) conversationId: string,
    @Query() query: ListMessagesQuery,
  ): Promise<MessagePageDto> {
    const page = await this.messages.list(caller.id, conversationId, query);
    return { items: page.items.map((m) => MessageDto.fromView(m, caller.id)), hasMore: page.hasMore };
  }

  @Patch('messages/:id')
  @ApiOperation({ summary: 'Edit (sender only, within EDIT_WINDOW_MS)' })
  @MessageId
  @ApiOkResponse({ type: MessageDto })
  @ApiErrors({
    403: 'Not the sender, the edit window is over, or the message was deleted',
    404: MESSAGE_NOT_FOUND,
  })
  async edit(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Body() body: EditMessageDto,
  ): Promise<MessageDto> {
    return MessageDto.fromView(await this.messages.edit(caller.id, id, body.content), caller.id);
  }

  @Delete('messages/:id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Soft delete (sender, or the group owner): content gone, seq kept' })
  @MessageId
  @ApiNoContentResponse({ description: 'Deleted (or already deleted)' })
  @ApiErrors({ 403: 'Neither the sender nor the group owner', 404: MESSAGE_NOT_FOUND })
  delete(@CurrentUser() caller: AuthUser, @Param('id', Uuid) id: string): Promise<void> {
    return this.messages.delete(caller.id, id);
  }

  @Put('messages/:id/reactions/:emoji')
  @ApiOperation({
    summary: "Add the caller's reaction (idempotent). One emoji: a pictograph with its modifiers, a flag or a keycap",
  })
  @MessageId
  @Emoji('URL-encoded, e.g. %F0%9F%91%8D for 👍')
  @ApiOkResponse({ type: MessageReactionsDto, description: "The message's reactions afterwards" })
  @ApiErrors({ 400: 'Not exactly one emoji', 403: 'The message was deleted', 404: MESSAGE_NOT_FOUND })
  async react(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Param('emoji') emoji: string,
  ): Promise<MessageReactionsDto> {
    return toReactionsDto(await this.reactions.add(caller.id, id, emoji), caller.id);
  }

  @Delete('messages/:id/reactions/:emoji')
  @ApiOperation({ summary: "Remove the caller's reaction (idempotent)" })
  @MessageId
  @Emoji('URL-encoded')
  @ApiOkResponse({ type: MessageReactionsDto, description: "The message's reactions afterwards" })
  @ApiErrors({ 400: 'Not exactly one emoji', 403: 'The message was deleted', 404: MESSAGE_NOT_FOUND })
  async unreact(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Param('emoji') emoji: string,
  ): Promise<MessageReactionsDto> {
    return toReactionsDto(await this.reactions.remove(caller.id, id, emoji), caller.id);
  }
}

function toReactionsDto(result: MessageReactions, viewerId: string): MessageReactionsDto {
  return {
    conversationId: result.conversationId,
    messageId: result.messageId,
    reactions: ReactionDto.fromViews(result.reactions, viewerId),
  };
}
