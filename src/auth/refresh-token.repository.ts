import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, LessThan, Repository } from 'typeorm';
import { queryRows } from '../database/sql';
import { RefreshToken } from './entities/refresh-token.entity';

/** The statements on `refresh_tokens`, on the pool or inside one family's transaction. */
export class RefreshTokenQueries {
  constructor(protected readonly db: EntityManager) {}

  async insert(row: { userId: string; familyId: string; tokenHash: string; expiresAt: Date }): Promise<void> {
    await this.db.insert(RefreshToken, row);
  }

  async familyOf(tokenHash: string): Promise<string | undefined> {
    const [row] = await queryRows<{ family_id: string }>(
      this.db,
      'SELECT family_id FROM refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    );
    return row?.family_id;
  }

  /** Takes the family's transaction-scoped advisory lock: rotation and revocation of one family take turns. */
  async lockFamily(familyId: string): Promise<void> {
    await this.db.query('SELECT pg_advisory_xact_lock(hashtext($1))', [familyId]);
  }

  /** Revokes the token if it is live; its user, or undefined when it was not live. */
  async consumeLive(tokenHash: string): Promise<string | undefined> {
    const [row] = await queryRows<{ user_id: string }>(
      this.db,
      `UPDATE refresh_tokens SET revoked_at = now()
        WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > now() RETURNING user_id`,
      [tokenHash],
    );
    return row?.user_id;
  }

  async isRevoked(tokenHash: string): Promise<boolean> {
    const [row] = await queryRows<{ revoked: boolean }>(
      this.db,
      'SELECT revoked_at IS NOT NULL AS revoked FROM refresh_tokens WHERE token_hash = $1',
      [tokenHash],
    );
    return row?.revoked ?? false;
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.db.query('UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL', [
      familyId,
    ]);
  }
}

@Injectable()
export class RefreshTokenRepository extends RefreshTokenQueries {
  constructor(@InjectRepository(RefreshToken) private readonly tokens: Repository<RefreshToken>) {
    super(tokens.manager);
  }

  transaction<T>(work: (tx: RefreshTokenQueries) => Promise<T>): Promise<T> {
    return this.tokens.manager.transaction((manager) => work(new RefreshTokenQueries(manager)));
  }

  /** Deletes tokens that expired before `before`; how many. */
  async deleteExpiredBefore(before: Date): Promise<number> {
    return (await this.tokens.delete({ expiresAt: LessThan(before) })).affected ?? 0;
  }
}
