import type { ServerResponse } from 'node:http';
import type { RequestWithAuth } from '../common/request-auth';
import type { AccessTokenService } from './access-token.service';
import { authContext } from './auth-context.middleware';

describe('authContext', () => {
  it('puts the verified user, or null, on the request once, before the guards', () => {
    const user = { userId: 'u', expiresAt: new Date(0) };
    const authenticateRequest = jest.fn((req: RequestWithAuth) =>
      req.headers.authorization === 'Bearer good' ? user : undefined,
    );
    const middleware = authContext({ authenticateRequest } as unknown as AccessTokenService);
    const next = jest.fn();
    const good = { headers: { authorization: 'Bearer good' } } as RequestWithAuth;
    const bad = { headers: { authorization: 'Bearer bad' } } as RequestWithAuth;
    middleware(good, {} as ServerResponse, next);
    middleware(bad, {} as ServerResponse, next);
    expect([good.auth, bad.auth]).toEqual([user, null]);
    expect(authenticateRequest).toHaveBeenCalledTimes(2);
    expect(next).toHaveBeenCalledTimes(2);
  });
});
