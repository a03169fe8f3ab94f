import { Injectable, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtService } from '@nestjs/jwt';
import type { IncomingMessage } from 'node:http';
import type { RequestAuth } from '../common/request-auth';
import type { AuthConfig } from './auth.config';

/** The user and expiry of a verified access token. */
export type AuthenticatedUser = RequestAuth;

interface AccessTokenClaims {
  sub: string;
  typ: 'access';
  exp: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_TOKEN_LENGTH = 4096;
/** Verified tokens remembered; the oldest is dropped beyond this many. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Signs and verifies access tokens (HS256 only: `alg: none` and algorithm
 * confusion are rejected). Used by the HTTP guard and by the WebSocket gateway.
 */
@Injectable()
export class AccessTokenService {
  private readonly ttlSeconds: number;
  /** One verification per request, shared by the rate-limit and auth guards. */
  private readonly verified = new WeakMap<object, AuthenticatedUser | null>();
  /**
   * Tokens that verified, until they expire: a client sends the same token with every
   * request for its lifetime, and a signature check costs more than the rest of the
   * guard. A token's claims cannot change, so only its expiry is checked again.
   */
  private readonly recent = new Map<string, AuthenticatedUser>();

  constructor(
    private readonly jwt: JwtService,
    config: ConfigService<AuthConfig, true>,
  ) {
    this.ttlSeconds = Math.floor(config.get('JWT_ACCESS_TTL_MS', { infer: true }) / 1000);
  }

  sign(userId: string): { accessToken: string; expiresIn: number } {
    const claims: Omit<AccessTokenClaims, 'exp'> = { sub: userId, typ: 'access' };
    return { accessToken: this.jwt.sign(claims, { expiresIn: this.ttlSeconds }), expiresIn: this.ttlSeconds };
  }

  /** Throws 401 for anything but a valid, unexpired access token of ours. */
  verify(token: string): AuthenticatedUser {
    if (typeof token !== 'string' || !token || token.length > MAX_TOKEN_LENGTH) {
      throw new UnauthorizedException('Invalid access token');
    }
    const known = this.recent.get(token);
    if (known && known.expiresAt.getTime() > Date.now()) return known;
    this.recent.delete(token);
    const user = this.verifySignature(token);
    if (this.recent.size >= VERIFIED_CACHE_SIZE) this.recent.delete(this.recent.keys().next().value!);
    this.recent.set(token, user);
    return user;
  }

  private verifySignature(token: string): AuthenticatedUser {
    let claims: AccessTokenClaims;
    try {
      claims = this.jwt.verify<AccessTokenClaims>(token, { algorithms: ['HS256'] });
    } catch (error) {
      const expired = (error as Error).name === 'TokenExpiredError';
      throw new UnauthorizedException(expired ? 'Access token expired' : 'Invalid access token');
    }
    if (
      claims.typ !== 'access' ||
      typeof claims.sub !== 'string' ||
      !UUID.test(claims.sub) ||
      !Number.isInteger(claims.exp)
    ) {
      throw new UnauthorizedException('Invalid access token');
    }
    return { userId: claims.sub.toLowerCase(), expiresAt: new Date(claims.exp * 1000) };
  }

  /** The bearer token's user, or undefined when it is missing or invalid; remembered per request. */
  authenticateRequest(request: IncomingMessage): AuthenticatedUser | undefined {
    if (!this.verified.has(request)) {
      const token = bearerToken(request.headers.authorization);
      let user: AuthenticatedUser | null = null;
      if (token) {
        try {
          user = this.verify(token);
        } catch {
          user = null;
        }
      }
      this.verified.set(request, user);
    }
    return this.verified.get(request) ?? undefined;
  }
}

export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}
