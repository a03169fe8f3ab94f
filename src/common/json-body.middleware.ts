import { STATUS_CODES } from 'node:http';
import { json, type NextFunction, type Request, type RequestHandler, type Response } from 'express';

interface BodyParserError extends Error {
  status?: number;
  type?: string;
}

/**
 * express.json with its errors answered in Nest's error shape: body-parser hands
 * them to Express's HTML error page otherwise, outside Nest's exception filters.
 */
export function jsonBodyMiddleware(limitBytes: number): RequestHandler {
  const parse = json({ limit: limitBytes, strict: true, type: ['application/json', 'application/*+json'] });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (error?: BodyParserError) => {
      if (!error && Array.isArray(req.body)) {
        // Every body of the API is an object; say so instead of listing array indexes.
        error = Object.assign(new Error('array body'), { status: 400, type: 'body.not.object' });
      }
      if (!error) return next();
      const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
      res
        .status(status)
        .json({ statusCode: status, error: STATUS_CODES[status], message: describe(error, limitBytes) });
    });
  };
}

function describe(error: BodyParserError, limitBytes: number): string {
  switch (error.type) {
    case 'entity.too.large':
      return `Request body is larger than ${limitBytes} bytes`;
    case 'entity.parse.failed':
      return 'Request body is not a valid JSON object';
    case 'body.not.object':
      return 'Request body must be a JSON object';
    case 'charset.unsupported':
      return 'Unsupported charset: send UTF-8 JSON';
    case 'encoding.unsupported':
      return 'Unsupported content encoding';
    default:
      return 'Malformed request body';
  }
}
