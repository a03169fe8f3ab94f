import type { ServerResponse } from 'node:http';
import type { RequestWithAuth } from '../common/request-auth';
import type { AccessTokenService } from './access-token.service';

/**
 * Decodes the bearer token once per request into `request.auth`, before any guard
 * runs: the rate limit keys on the user, the auth guard admits or refuses.
 */
export function authContext(tokens: AccessTokenService) {
  return (req: RequestWithAuth, _res: ServerResponse, next: () => void): void => {
    req.auth = tokens.authenticateRequest(req) ?? null;
    next();
  };
}
