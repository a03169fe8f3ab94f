import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';

/** The OpenAPI document (at /docs-json) and Swagger UI (at /docs), from the controllers' decorators. */
export function setupSwagger(app: NestExpressApplication): void {
  const config = new DocumentBuilder()
    .setTitle('Parley')
    .setDescription(
      'Real-time messaging backend. REST for everything durable (this document); the WebSocket at /ws ' +
        'for everything live. Errors use one shape: {statusCode, error, message}. Every route but health, ' +
        'metrics and docs is rate limited: answers carry X-RateLimit-Limit, X-RateLimit-Remaining and ' +
        "X-RateLimit-Reset (seconds) of the route's limit, and a refusal is 429 with Retry-After (seconds).",
    )
    .setVersion('1')
    .addTag('auth')
    .addTag('users')
    .addTag('conversations')
    .addTag('messages')
    .addTag('health')
    .addTag('metrics')
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    .build();
  const document = SwaggerModule.createDocument(app, config);
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });
}
