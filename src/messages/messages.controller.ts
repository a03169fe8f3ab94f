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
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Response } from 'express';
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

@ApiTags('messages')
@ApiBearerAuth()
@ApiNotFoundResponse({ description: 'Unknown, or in a conversation the caller does not take part in' })
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
  @ApiCreatedResponse({ type: MessageDto })
  @ApiOkResponse({ type: MessageDto, description: 'A retry: the message sent earlier with this clientMessageId' })
  @ApiConflictResponse({ description: 'clientMessageId reused with different content' })
  @ApiTooManyRequestsResponse({ description: 'More than RATE_SEND_PER_SEC sends per second' })
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
  @ApiOkResponse({ type: MessagePageDto })
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
  @ApiOkResponse({ type: MessageDto })
  @ApiForbiddenResponse({ description: 'Not the sender, the edit window is over, or the message was deleted' })
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
  @ApiNoContentResponse()
  @ApiForbiddenResponse({ description: 'Neither the sender nor the group owner' })
  delete(@CurrentUser() caller: AuthUser, @Param('id', Uuid) id: string): Promise<void> {
    return this.messages.delete(caller.id, id);
  }

  @Put('messages/:id/reactions/:emoji')
  @ApiOperation({
    summary: "Add the caller's reaction (idempotent). One emoji: a pictograph with its modifiers, a flag or a keycap",
  })
  @ApiParam({ name: 'emoji', description: 'URL-encoded, e.g. %F0%9F%91%8D for 👍' })
  @ApiOkResponse({ type: MessageReactionsDto })
  @ApiForbiddenResponse({ description: 'The message was deleted' })
  async react(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Param('emoji') emoji: string,
  ): Promise<MessageReactionsDto> {
    return toReactionsDto(await this.reactions.add(caller.id, id, emoji), caller.id);
  }

  @Delete('messages/:id/reactions/:emoji')
  @ApiOperation({ summary: "Remove the caller's reaction (idempotent)" })
  @ApiParam({ name: 'emoji', description: 'URL-encoded' })
  @ApiOkResponse({ type: MessageReactionsDto })
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
