import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { databaseError } from '../database/sql';
import { User } from './entities/user.entity';

export const USER_SEARCH_LIMIT = 20;

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  /** 409 when the (lower-case) username is taken, decided by the unique index. */
  async create(input: { username: string; displayName: string; passwordHash: string }): Promise<User> {
    try {
      const inserted = await this.users
        .createQueryBuilder()
        .insert()
        .values(input)
        .returning(['id', 'username', 'displayName', 'createdAt'])
        .execute();
      const row = (inserted.raw as { id: string; username: string; display_name: string; created_at: Date }[])[0];
      return Object.assign(new User(), {
        id: row.id,
        username: row.username,
        displayName: row.display_name,
        createdAt: row.created_at,
      });
    } catch (error) {
      if (databaseError(error)?.code === UNIQUE_VIOLATION) {
        throw new ConflictException('Username is taken');
      }
      throw error;
    }
  }

  findById(id: string): Promise<User | null> {
    return this.users.findOne({ where: { id } });
  }

  /** One query for any number of users; unknown ids are simply absent. */
  findByIds(ids: readonly string[]): Promise<User[]> {
    return ids.length ? this.users.findBy({ id: In([...ids]) }) : Promise.resolve([]);
  }

  async recordLastSeen(userId: string, at: Date): Promise<void> {
    await this.users.update({ id: userId }, { lastSeenAt: at });
  }

  /** The user with its password hash, for login only. */
  findWithPasswordHash(username: string): Promise<User | null> {
    return this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.username = :username', { username })
      .getOne();
  }

  /** Up to 20 users whose username starts with `prefix` (served by the unique index, collation "C"). */
  search(prefix: string): Promise<User[]> {
    const pattern = prefix.replace(/[\\%_]/g, '\\$&') + '%';
    return this.users
      .createQueryBuilder('user')
      .where(`user.username LIKE :pattern ESCAPE '\\'`, { pattern })
      .orderBy('user.username', 'ASC')
      .limit(USER_SEARCH_LIMIT)
      .getMany();
  }
}
