import { Injectable, OnModuleDestroy, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { EntityManager, LessThan, Repository } from 'typeorm';
import { queryRows } from '../database/sql';
import type { Environment } from '../config/environment';
import { RefreshToken } from './entities/refresh-token.entity';

const PURGE_INTERVAL_MS = 3_600_000;

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
    @InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>,
    config: ConfigService<Environment, true>,
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
    return this.insert(this.tokens.manager, userId, randomUUID());
  }

  private async insert(manager: EntityManager, userId: string, familyId: string): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await manager.insert(RefreshToken, {
      userId,
      familyId,
      tokenHash: digest(token),
      expiresAt: new Date(Date.now() + this.ttlMs),
    });
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
    const [known] = await queryRows<{ family_id: string }>(
      this.tokens,
      'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    );
    if (!known) throw new UnauthorizedException(INVALID);
    const next = await this.tokens.manager.transaction(async (manager) => {
      await lockFamily(manager, known.family_id);
      const [live] = await queryRows<{ user_id: string }>(
        manager,
        `UPDATE refresh_tokens SET revoked_at = now()
          WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING user_id`,
        [tokenHash],
      );
      if (live)
        return { userId: live.user_id, refreshToken: await this.insert(manager, live.user_id, known.family_id) };
      const [dead] = await queryRows<{ revoked: boolean }>(
        manager,
        'SELECT revoked_at IS NOT NULL AS revoked FROM refresh_tokens WHERE token_hash = $1',
        [tokenHash],
      );
      // A revoked token came back: it was replayed or stolen. End the whole session.
      if (dead?.revoked) await revokeFamily(manager, known.family_id);
      return undefined;
    });
    if (!next) throw new UnauthorizedException(INVALID);
    return next;
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored. */
  async revokeSessionOf(token: string): Promise<void> {
    const [known] = await queryRows<{ family_id: string }>(
      this.tokens,
      'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
      [digest(token)],
    );
    if (!known) return;
    await this.tokens.manager.transaction(async (manager) => {
      await lockFamily(manager, known.family_id);
      await revokeFamily(manager, known.family_id);
    });
  }

  /** Expired rows can no longer be presented successfully; keep a day for reuse detection. */
  async purgeExpired(): Promise<number> {
    const result = await this.tokens.delete({ expiresAt: LessThan(new Date(Date.now() - 86_400_000)) });
    return result.affected ?? 0;
  }
}

const INVALID = 'Invalid or expired refresh token';

async function lockFamily(manager: EntityManager, familyId: string): Promise<void> {
  await manager.query('SELECT pg_advisory_xact_lock(hashtext($1))', [familyId]);
}

async function revokeFamily(manager: EntityManager, familyId: string): Promise<void> {
  await manager.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
    familyId,
  ]);
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
