import { Injectable, OnModuleDestroy, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { AuthConfig } from './auth.config';
import { RefreshTokenRepository, type RefreshTokenQueries } from './refresh-token.repository';

const PURGE_INTERVAL_MS = 3_600_000;
const INVALID = 'Invalid or expired refresh token';

/**
 * Opaque refresh tokens, stored only as SHA-256 digests (they carry 256 random
 * bits, so a fast hash is enough). Rotation: each use revokes the token and
 * issues the next one of its family; reuse of a revoked token revokes the family.
 */
@Injectable()
export class RefreshTokenService implements OnModuleInit, OnModuleDestroy {
  private readonly ttlMs: number;
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    private readonly tokens: RefreshTokenRepository,
    config: ConfigService<AuthConfig, true>,
  ) {
    this.ttlMs = config.get('JWT_REFRESH_TTL_MS', { infer: true });
  }

  onModuleInit(): void {
    this.purgeTimer = setInterval(() => void this.purgeExpired().catch(() => undefined), PURGE_INTERVAL_MS).unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.purgeTimer);
  }

  /** Starts a new family: a login. */
  issue(userId: string): Promise<string> {
    return this.insert(this.tokens, userId, randomUUID());
  }

  private async insert(queries: RefreshTokenQueries, userId: string, familyId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await queries.insert({ userId, familyId, tokenHash: digest(token), expiresAt: new Date(Date.now() + this.ttlMs) });
    return token;
  }

  /**
   * Consumes a live token and returns the next one; any other token is a 401.
   * Rotation and revocation of one family take the same transaction-scoped
   * advisory lock, so a replay racing the legitimate refresh either loses before
   * the new token exists or revokes it after: never leaves it alive.
   */
  async rotate(token: string): Promise<{ userId: string; refreshToken: string }> {
    const tokenHash = digest(token);
    const familyId = await this.tokens.familyOf(tokenHash);
    if (!familyId) throw new UnauthorizedException(INVALID);
    const next = await this.tokens.transaction(async (tx) => {
      await tx.lockFamily(familyId);
      const userId = await tx.consumeLive(tokenHash);
      if (userId) return { userId, refreshToken: await this.insert(tx, userId, familyId) };
      // A revoked token came back: it was replayed or stolen. End the whole session.
      if (await tx.isRevoked(tokenHash)) await tx.revokeFamily(familyId);
      return undefined;
    });
    if (!next) throw new UnauthorizedException(INVALID);
    return next;
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored. */
  async revokeSessionOf(token: string): Promise<void> {
    const familyId = await this.tokens.familyOf(digest(token));
    if (!familyId) return;
    await this.tokens.transaction(async (tx) => {
      await tx.lockFamily(familyId);
      await tx.revokeFamily(familyId);
    });
  }

  /** Expired rows can no longer be presented successfully; keep a day for reuse detection. */
  purgeExpired(): Promise<number> {
    return this.tokens.deleteExpiredBefore(new Date(Date.now() - 86_400_000));
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
