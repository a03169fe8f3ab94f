import { Test } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import { User } from './entities/user.entity';
import { UserDeletionsListener } from './user-deletions.listener';
import { UsersService } from './users.service';

/** UsersService.exists with a fake repository and listener (the real ones: test/deleted-users.e2e-spec.ts). */
describe('UsersService.exists', () => {
  async function setup(rows: Set<string>) {
    const existsBy = jest.fn(({ id }: { id: string }) => Promise.resolve(rows.has(id)));
    const handlers = { deleted: [] as ((id: string) => void)[], relisten: [] as (() => void)[] };
    const listener = {
      listening: true,
      onDeleted: (h: (id: string) => void) => handlers.deleted.push(h),
      onRelisten: (h: () => void) => handlers.relisten.push(h),
    };
    const moduleRef = await Test.createTestingModule({
      providers: [
        UsersService,
        { provide: getRepositoryToken(User), useValue: { existsBy } },
        { provide: UserDeletionsListener, useValue: listener },
      ],
    }).compile();
    const service = moduleRef.get(UsersService);
    return { service, existsBy, listener, handlers };
  }

  it('asks once per id, then answers from memory', async () => {
    const { service, existsBy } = await setup(new Set(['a']));
    expect([await service.exists('a'), await service.exists('a'), await service.exists('b')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(await service.exists('b')).toBe(false);
    expect(existsBy).toHaveBeenCalledTimes(2);
  });

  it('forgets a deleted user at once', async () => {
    const { service, handlers } = await setup(new Set(['a']));
    await service.exists('a');
    handlers.deleted.forEach((h) => h('a'));
    expect(await service.exists('a')).toBe(false);
  });

  it('asks again while the listener is down, and forgets everything when it is back', async () => {
    const rows = new Set(['a']);
    const { service, existsBy, listener, handlers } = await setup(rows);
    await service.exists('a');
    listener.listening = false;
    rows.delete('a'); // deleted while nobody listened
    expect(await service.exists('a')).toBe(false);
    rows.add('c');
    await service.exists('c');
    listener.listening = true;
    handlers.relisten.forEach((h) => h());
    expect(await service.exists('c')).toBe(true);
    expect(existsBy).toHaveBeenCalledTimes(4);
  });
});
