import { ApiProperty } from '@nestjs/swagger';

/**
 * The body of every REST error (docs/protocol.md §3), Nest's shape as HttpErrorsFilter and
 * jsonBodyMiddleware write it: nothing else is ever added to it.
 */
export class ErrorResponseDto {
  @ApiProperty({ type: 'integer', minimum: 400, maximum: 599, example: 404, description: 'The HTTP status again' })
  statusCode: number;

  @ApiProperty({ example: 'Not Found', description: "The status's reason phrase" })
  error: string;

  @ApiProperty({ example: 'Conversation not found', description: 'What went wrong, for people (not a code to match)' })
  message: string;
}

/** A 400: validation names each failed field, so `message` is then a list; malformed bodies and path ids get one string. */
export class BadRequestResponseDto {
  @ApiProperty({ type: 'integer', enum: [400], example: 400 })
  statusCode: number;

  @ApiProperty({ enum: ['Bad Request'], example: 'Bad Request' })
  error: string;

  @ApiProperty({
    oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
    example: ['username must be 3-32 characters of a-z, 0-9, _ and . (A-Z are folded to a-z)'],
    description:
      'One message per failed field (validation of the body, query or path), or one string ' +
      '(a body that is not a JSON object, a path id that is not a UUID)',
  })
  message: string | string[];
}

/** A 410 of GET /sync: the token cannot be continued; `code` says what to do. */
export class GoneResponseDto {
  @ApiProperty({ type: 'integer', enum: [410], example: 410 })
  statusCode: number;

  @ApiProperty({ enum: ['Gone'], example: 'Gone' })
  error: string;

  @ApiProperty({
    enum: ['resync_required'],
    description: 'Bootstrap again (GET /sync without `since`), then continue from its token',
  })
  code: string;

  @ApiProperty({ example: 'The token is older than SYNC_RETENTION_MS: changes since then are gone' })
  message: string;
}
