import { HttpException, HttpStatus } from '@nestjs/common';

/** 429 that carries its Retry-After (seconds, rounded up, at least 1). */
export class RateLimitedException extends HttpException {
  readonly retryAfterSeconds: number;

  constructor(retryAfterMs: number, message = 'Too many requests, retry later') {
    super(
      { statusCode: HttpStatus.TOO_MANY_REQUESTS, error: 'Too Many Requests', message },
      HttpStatus.TOO_MANY_REQUESTS,
    );
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  }
}
