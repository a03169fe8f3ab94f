import { STATUS_CODES, type ServerResponse } from 'node:http';

/**
 * Nest's error body (`{statusCode, error, message}`), for middleware that answers before
 * Nest routes a request: every REST error a client sees has the one shape.
 */
export function writeHttpError(
  res: ServerResponse,
  statusCode: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(statusCode, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify({ statusCode, error: STATUS_CODES[statusCode], message }));
}
