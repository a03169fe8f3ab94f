import { applyDecorators } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { HeaderObject, ReferenceObject, ResponseObject } from '@nestjs/swagger';
import { BadRequestResponseDto, ErrorResponseDto, GoneResponseDto } from '../dto/error-response.dto';

/** The error statuses of docs/protocol.md §3 (and 503 of a database outage), each with the error body. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 429 | 503;

/** A status with the operation's own description instead of the default one. */
export type ErrorDescriptions = Partial<Record<ErrorStatus, string>>;

const DEFAULT_DESCRIPTIONS: Record<ErrorStatus, string> = {
  400: 'The body, query or path fails validation (the message names the fields), or the body is not a JSON object',
  401: 'Missing, malformed, expired or forged access token, or its user is gone',
  403: 'Authenticated but not allowed',
  404: 'Unknown, or in a conversation the caller does not take part in (existence is not leaked)',
  409: 'Conflicts with what exists',
  410: 'The sync token cannot be continued (code resync_required): bootstrap again',
  413: 'The body is over the configured size limit (BODY_LIMIT_BYTES)',
  415: 'The body is in a charset other than UTF-8, or in a Content-Encoding the server does not decode',
  429: 'Rate limited: more than RATE_REST_PER_MIN calls a minute (per user, per IP before login); retry after Retry-After',
  503: 'The database is unavailable, retry after Retry-After; not a bug, never a 500',
};

/** Response headers of the API, as components.headers (registered by buildOpenApiDocument). */
export const API_HEADERS: Record<string, HeaderObject> = {
  'Retry-After': {
    description: 'Seconds to wait before retrying (at least 1)',
    required: true,
    schema: { type: 'integer', minimum: 1 },
  },
  'X-RateLimit-Limit': {
    description: "Calls allowed in a window by the route's limit",
    schema: { type: 'integer', minimum: 1 },
  },
  'X-RateLimit-Remaining': {
    description: 'Calls left in the current window',
    schema: { type: 'integer', minimum: 0 },
  },
  'X-RateLimit-Reset': {
    description: 'Seconds until the current window ends',
    schema: { type: 'integer', minimum: 0 },
  },
};

export const headerRef = (name: keyof typeof API_HEADERS): ReferenceObject => ({
  $ref: `#/components/headers/${name}`,
});

const bodyOf = (status: ErrorStatus) =>
  status === 400 ? BadRequestResponseDto : status === 410 ? GoneResponseDto : ErrorResponseDto;

const headersOf = (status: ErrorStatus) =>
  status === 429 || status === 503 ? { headers: { 'Retry-After': headerRef('Retry-After') } } : {};

/**
 * The response object of an error status. Its schemas are registered by
 * buildOpenApiDocument (extraModels), which also adds it where no decorator can.
 */
export function errorResponse(status: ErrorStatus, description = DEFAULT_DESCRIPTIONS[status]): ResponseObject {
  return {
    description,
    content: { 'application/json': { schema: { $ref: getSchemaPath(bodyOf(status)) } } },
    ...headersOf(status),
  };
}

/**
 * Documents error answers with the shared error body: `@ApiErrors(400, 401, { 404: 'Unknown message' })`.
 * On a controller it applies to each of its operations; an operation's own entry for a status wins.
 */
export function ApiErrors(...errors: (ErrorStatus | ErrorDescriptions)[]): MethodDecorator & ClassDecorator {
  const entries = errors.flatMap((error): [ErrorStatus, string | undefined][] =>
    typeof error === 'number'
      ? [[error, undefined]]
      : Object.entries(error).map(([status, text]) => [Number(status) as ErrorStatus, text]),
  );
  // The content is spelt out: an error body is JSON whatever the operation produces (/metrics: text).
  return applyDecorators(
    ...entries.map(([status, description]) => ApiResponse({ status, ...errorResponse(status, description) })),
  );
}
