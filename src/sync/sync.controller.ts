import { Controller, Get, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiOkResponse, ApiOperation, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { CurrentUser, type AuthUser } from '../common/decorators/current-user.decorator';
import { SyncBootstrapDto, SyncPageDto, SyncQuery, SYNC_PAGE_DEFAULT } from './dto/sync.dto';
import { SyncService } from './sync.service';

@ApiTags('sync')
@ApiBearerAuth()
@ApiErrors(400, 401, 429, 503)
@Controller('sync')
export class SyncController {
  constructor(private readonly sync: SyncService) {}

  @Get()
  @ApiOperation({
    summary: "The caller's state (no `since`), or every change since a token, page by page",
    description:
      'Without `since`: every conversation and a token for exactly that state. With `since`: the changes the ' +
      'caller may see after the token, each exactly once, per conversation in commit order, and a new token; ' +
      'with `hasMore`, call again with it at once. See docs/protocol.md, Sync.',
  })
  @ApiExtraModels(SyncBootstrapDto, SyncPageDto)
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(SyncBootstrapDto) }, { $ref: getSchemaPath(SyncPageDto) }] },
  })
  @ApiErrors({
    410: "The token is not valid, not the caller's, or older than SYNC_RETENTION_MS: code resync_required, bootstrap again",
  })
  async get(@CurrentUser() caller: AuthUser, @Query() query: SyncQuery): Promise<SyncBootstrapDto | SyncPageDto> {
    if (query.since === undefined) return this.sync.bootstrap(caller.id);
    return this.sync.since(caller.id, query.since, query.limit ?? SYNC_PAGE_DEFAULT);
  }
}
