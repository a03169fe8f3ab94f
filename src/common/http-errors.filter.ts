import { ArgumentsHost, Catch, HttpStatus } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { HttpServer } from '@nestjs/common';
import type { Response } from 'express';
import type { DatabaseAvailability } from '../database/database-availability.service';
import { isDatabaseUnavailable } from '../database/database-errors';
import { RateLimitedException } from '../rate-limit/rate-limited.exception';

/** Seconds a client should wait before retrying while the database is unavailable. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 2;

/**
 * The one REST error filter, in Nest's shape `{statusCode, error, message}`:
 * - 429 carries its Retry-After;
 * - a database outage is 503 with Retry-After, "retry later" rather than a bug,
 *   logged once per outage (DatabaseAvailability) instead of a stack per request;
 * - everything else is Nest's: HttpExceptions as they are, anything unknown a
 *   logged 500 (a bug: the test suite fails on one).
 */
@Catch()
export class HttpErrorsFilter extends BaseExceptionFilter {
  constructor(
    httpAdapter: HttpServer,
    private readonly availability: DatabaseAvailability,
  ) {
    super(httpAdapter);
  }

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') return super.catch(exception, host);
    const response = host.switchToHttp().getResponse<Response>();
    if (exception instanceof RateLimitedException) {
      response
        .status(exception.getStatus())
        .setHeader('Retry-After', String(exception.retryAfterSeconds))
        .json(exception.getResponse());
      return;
    }
    if (isDatabaseUnavailable(exception)) {
      this.availability.reportUnavailable(exception);
      response
        .status(HttpStatus.SERVICE_UNAVAILABLE)
        .setHeader('Retry-After', String(UNAVAILABLE_RETRY_AFTER_SECONDS))
        .json({
          statusCode: HttpStatus.SERVICE_UNAVAILABLE,
          error: 'Service Unavailable',
          message: 'The database is unavailable, retry later',
        });
      return;
    }
    super.catch(exception, host);
  }
}
