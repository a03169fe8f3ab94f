import { Injectable, OnModuleDestroy, OnModuleInit, UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { IsNull, LessThan, Repository } from 'typeorm';
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

  /** Starts a new family (a login) or continues one (a refresh). */
  async issue(userId: string, familyId: string = randomUUID()): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    await this.tokens.insert({
      userId,
      familyId,
      tokenHash: digest(token),
      expiresAt: new Date(Date.now() + this.ttlMs),
    });
    return token;
  }

  /** Consumes a live token and returns the next one; any other token is a 401. */
  async rotate(token: string): Promise<{ userId: string; refreshToken: string }> {
    const tokenHash = digest(token);
    // One conditional UPDATE: of two concurrent uses of a token, exactly one wins.
    const result = await this.tokens
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('token_hash = :tokenHash AND revoked_at IS NULL AND expires_at > now()', { tokenHash })
      .returning(['userId', 'familyId'])
      .execute();
    const row = (result.raw as { user_id: string; family_id: string }[])[0];
    if (row) {
      return { userId: row.user_id, refreshToken: await this.issue(row.user_id, row.family_id) };
    }
    const known = await this.tokens.findOne({
      where: { tokenHash },
      select: { id: true, familyId: true, revokedAt: true },
    });
    if (known?.revokedAt) {
      // A revoked token came back: it was replayed or stolen. End the whole session.
      await this.revokeFamily(known.familyId);
    }
    throw new UnauthorizedException('Invalid or expired refresh token');
  }

  /** Logout: ends the session the token belongs to. Unknown tokens are ignored. */
  async revokeSessionOf(token: string): Promise<void> {
    const known = await this.tokens.findOne({
      where: { tokenHash: digest(token) },
      select: { id: true, familyId: true },
    });
    if (known) await this.revokeFamily(known.familyId);
  }

  private async revokeFamily(familyId: string): Promise<void> {
    await this.tokens.update({ familyId, revokedAt: IsNull() }, { revokedAt: () => 'now()' });
  }

  /** Expired rows can no longer be presented successfully; keep a day for reuse detection. */
  async purgeExpired(): Promise<number> {
    const result = await this.tokens.delete({ expiresAt: LessThan(new Date(Date.now() - 86_400_000)) });
    return result.affected ?? 0;
  }
}

function digest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
