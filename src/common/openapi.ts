import type { INestApplication } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject, type OperationObject } from '@nestjs/swagger';
import { API_HEADERS, errorResponse, headerRef } from './decorators/api-errors.decorator';
import { BadRequestResponseDto, ErrorResponseDto, GoneResponseDto } from './dto/error-response.dto';

/** Where the WebSocket's AsyncAPI document is served (AsyncApiController). */
export const ASYNCAPI_PATH = '/docs/asyncapi.json';

const TAGS: [name: string, description: string][] = [
  [
    'auth',
    'Accounts and sessions: a short-lived JWT access token and a single-use, rotating refresh token. No token needed.',
  ],
  ['users', 'The caller, and finding other users by username prefix.'],
  ['conversations', 'Direct conversations (one per pair) and groups: members and roles, read markers, unread counts.'],
  [
    'messages',
    'Sending (idempotent by clientMessageId), history by seq, edits, soft deletes and reactions. ' +
      `Live delivery of all of it is the WebSocket's: see the AsyncAPI document at ${ASYNCAPI_PATH}.`,
  ],
  ['health', 'Readiness and liveness probes for load balancers and orchestrators: no token, never rate limited.'],
  [
    'metrics',
    'Prometheus metrics in the text exposition format: never rate limited, no token unless METRICS_TOKEN is set.',
  ],
];

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** The OpenAPI document of the app's controllers (served at /docs-json; the tests read and lint it too). */
export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const builder = new DocumentBuilder()
    .setTitle('Parley')
    .setDescription(
      'Real-time messaging backend. REST for everything durable (this document); the WebSocket at /ws ' +
        `for everything live, described by the AsyncAPI document at [${ASYNCAPI_PATH}](${ASYNCAPI_PATH}).\n\n` +
        'Every error has one body, `{statusCode, error, message}` (ErrorResponseDto; a 400 may list its ' +
        'messages). Every route but health and metrics is rate limited: answers carry X-RateLimit-Limit, ' +
        "X-RateLimit-Remaining and X-RateLimit-Reset (seconds) of the route's limit, and a refusal is 429 " +
        'with Retry-After (seconds). A database outage is 503 with Retry-After.',
    )
    .setVersion('1')
    .setExternalDoc('AsyncAPI document of the WebSocket /ws', ASYNCAPI_PATH)
    // Relative: the document describes whichever host serves it; paths carry /api/v1.
    .addServer('/', 'The server this document is served by')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token of /auth' });
  for (const [name, description] of TAGS) builder.addTag(name, description);
  const document = SwaggerModule.createDocument(app, builder.build(), {
    extraModels: [ErrorResponseDto, BadRequestResponseDto, GoneResponseDto],
  });
  return completeDocument(document);
}

/**
 * What holds for every route, added here rather than on each controller:
 * - the JSON body parser (jsonBodyMiddleware) runs before every route, so any call
 *   with a malformed body is a 400, one over BODY_LIMIT_BYTES a 413, one not in UTF-8 a 415;
 * - an operation without a security requirement is public: `security: []`, said
 *   explicitly (the conformance test checks it against the auth guard);
 * - a rate-limited operation (one that documents 429) carries the X-RateLimit-*
 *   headers on its answers;
 * - a response without a description of its own says its status's reason phrase.
 */
function completeDocument(document: OpenAPIObject): OpenAPIObject {
  document.components = { ...document.components, headers: { ...API_HEADERS } };
  for (const item of Object.values(document.paths)) {
    for (const method of METHODS) {
      const operation = item[method] as OperationObject | undefined;
      if (!operation) continue;
      operation.security ??= [];
      const { responses } = operation;
      responses['400'] ??= errorResponse(400, 'The body is not a JSON object');
      responses['413'] ??= errorResponse(413);
      responses['415'] ??= errorResponse(415);
      for (const [status, response] of Object.entries(responses)) {
        if (!response || '$ref' in response) continue;
        if (!response.description) response.description = STATUS_CODES[status] ?? status;
        if (!responses['429']) continue;
        response.headers = {
          'X-RateLimit-Limit': headerRef('X-RateLimit-Limit'),
          'X-RateLimit-Remaining': headerRef('X-RateLimit-Remaining'),
          'X-RateLimit-Reset': headerRef('X-RateLimit-Reset'),
          ...response.headers,
        };
      }
    }
  }
  return document;
}

/** The OpenAPI document (at /docs-json) and Swagger UI (at /docs), from the controllers' decorators. */
export function setupSwagger(app: NestExpressApplication): void {
  SwaggerModule.setup('docs', app, buildOpenApiDocument(app), { jsonDocumentUrl: 'docs-json' });
}
