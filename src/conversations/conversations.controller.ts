import {
  BadRequestException,
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
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
import { ConversationsService } from './conversations.service';
import { AddParticipantsDto } from './dto/add-participants.dto';
import { ConversationDto, ConversationPageDto, ReadMarkerDto, UnreadDto } from './dto/conversation.dto';
import { CreateConversationDto } from './dto/create-conversation.dto';
import { ListConversationsQuery } from './dto/list-conversations.query';
import { MarkReadDto } from './dto/mark-read.dto';

const Uuid = new UuidParamPipe();

const NOT_FOUND = 'Unknown conversation, or one the caller does not take part in';
const ConversationId = ApiParam({ name: 'id', format: 'uuid', description: 'A conversation id' });

@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('conversations')
export class ConversationsController {
  constructor(private readonly conversations: ConversationsService) {}

  @Post()
  @ApiOperation({
    summary: 'Open a direct conversation (201 new, 200 the existing one of the pair) or create a group (201)',
  })
  @ApiCreatedResponse({ type: ConversationDto })
  @ApiOkResponse({ type: ConversationDto, description: 'The existing direct conversation of the pair' })
  @ApiErrors({
    400: 'Fails validation, fields of the other type, the caller as its own partner, or a group over GROUP_MAX_PARTICIPANTS',
    404: 'An unknown user among the participants',
  })
  async create(
    @CurrentUser() caller: AuthUser,
    @Body() body: CreateConversationDto,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ConversationDto> {
    if (body.type === 'direct') {
      if (body.title !== undefined || body.participantIds !== undefined) {
        throw new BadRequestException([
          'title and participantIds are for groups; a direct conversation takes participantId',
        ]);
      }
      const { view, created } = await this.conversations.openDirect(caller.id, body.participantId!);
      res.status(created ? HttpStatus.CREATED : HttpStatus.OK);
      return this.conversations.toDto(view, caller.id);
    }
    if (body.participantId !== undefined)
      throw new BadRequestException(['participantId is for direct conversations; a group takes participantIds']);
    const view = await this.conversations.createGroup(caller.id, body.title!, body.participantIds!);
    return this.conversations.toDto(view, caller.id);
  }

  @Get()
  @ApiOperation({
    summary: "The caller's conversations, most recent activity first",
    description:
      'Keyset paging by activity: a conversation that gets activity between two pages moves ahead of the ' +
      'cursor and does not appear on the later pages (see `cursor`); the socket pushes tell the client about it.',
  })
  @ApiOkResponse({ type: ConversationPageDto })
  @ApiErrors({ 400: '`limit` out of 1-100, or a `cursor` this server did not give out' })
  async list(@CurrentUser() caller: AuthUser, @Query() query: ListConversationsQuery): Promise<ConversationPageDto> {
    const { views, nextCursor } = await this.conversations.list(caller.id, query.limit, query.cursor);
    return { items: await this.conversations.toDtos(views, caller.id), nextCursor };
  }

  @Get(':id')
  @ApiOperation({ summary: 'One conversation' })
  @ConversationId
  @ApiOkResponse({ type: ConversationDto })
  @ApiErrors({ 404: NOT_FOUND })
  async get(@CurrentUser() caller: AuthUser, @Param('id', Uuid) id: string): Promise<ConversationDto> {
    return this.conversations.toDto(await this.conversations.get(caller.id, id), caller.id);
  }

  @Post(':id/participants')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Add members to a group (owner or admin)' })
  @ConversationId
  @ApiOkResponse({ type: ConversationDto })
  @ApiErrors({
    403: 'Not an owner or admin, a direct conversation, or the group would be over GROUP_MAX_PARTICIPANTS',
    404: `${NOT_FOUND}, or an unknown user among userIds`,
  })
  async addParticipants(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Body() body: AddParticipantsDto,
  ): Promise<ConversationDto> {
    return this.conversations.toDto(await this.conversations.addParticipants(caller.id, id, body.userIds), caller.id);
  }

  @Delete(':id/participants/:userId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'The owner removes a member, or a member leaves (its own id)' })
  @ConversationId
  @ApiParam({ name: 'userId', format: 'uuid', description: 'The member to remove: the caller itself to leave' })
  @ApiNoContentResponse({ description: 'Removed (the conversation.updated push tells every member)' })
  @ApiErrors({
    403: 'Removing someone else without being the owner, or a direct conversation',
    404: `${NOT_FOUND}, or the user is not a member`,
  })
  removeParticipant(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Param('userId', Uuid) userId: string,
  ): Promise<void> {
    return this.conversations.removeParticipant(caller.id, id, userId);
  }

  @Post(':id/read')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Move the read marker forward (it never moves back)' })
  @ConversationId
  @ApiOkResponse({ type: ReadMarkerDto })
  @ApiErrors({ 404: NOT_FOUND })
  markRead(
    @CurrentUser() caller: AuthUser,
    @Param('id', Uuid) id: string,
    @Body() body: MarkReadDto,
  ): Promise<ReadMarkerDto> {
    return this.conversations.markRead(caller.id, id, body.seq);
  }
}

@ApiTags('conversations')
@ApiBearerAuth()
@ApiErrors(401, 429, 503)
@Controller('unread')
export class UnreadController {
  constructor(private readonly conversations: ConversationsService) {}

  @Get()
  @ApiOperation({ summary: 'Unread counts: messages of others after the read marker, per conversation' })
  @ApiOkResponse({ type: UnreadDto })
  unread(@CurrentUser() caller: AuthUser): Promise<UnreadDto> {
    return this.conversations.unread(caller.id);
  }
}
