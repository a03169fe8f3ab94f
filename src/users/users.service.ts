import { ConflictException, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { In, Repository } from 'typeorm';
import { databaseError } from '../database/sql';
import { User } from './entities/user.entity';
import { KnownUsers } from './known-users';
import { UserDeletionsListener } from './user-deletions.listener';

export const USER_SEARCH_LIMIT = 20;

/** The 401 for a valid token whose user was deleted. */
export const USER_GONE = 'The user of this token no longer exists';

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class UsersService {
  private readonly known = new KnownUsers();

  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly deletions: UserDeletionsListener,
  ) {
    deletions.onDeleted((id) => this.known.markMissing(id));
    deletions.onRelisten(() => this.known.forgetPresent());
  }

  /**
   * Whether the user exists: asked by every authenticated request and socket, so a
   * token that outlives its user (deleted, or a reset database) authenticates nobody.
   * Answered from memory once seen; a deletion is heard at once (UserDeletionsListener),
   * and while that listener is down a present answer is not trusted.
   */
  exists(id: string): boolean | Promise<boolean> {
    const known = this.known.lookup(id);
    if (known === false || (known && this.deletions.listening)) return known; // no promise on the hot path
    return this.users.existsBy({ id }).then((found) => {
      if (found) this.known.markPresent(id);
      else this.known.markMissing(id);
      return found;
    });
  }

  /** Called with the id of each user deleted (on any instance, by any means). */
  onDeleted(handler: (userId: string) => void): () => void {
    return this.deletions.onDeleted(handler);
  }

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
      this.known.markPresent(row.id);
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
  async findWithPasswordHash(username: string): Promise<User | null> {
    const user = await this.users
      .createQueryBuilder('user')
      .addSelect('user.passwordHash')
      .where('user.username = :username', { username })
      .getOne();
    if (user) this.known.markPresent(user.id);
    return user;
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
