import { KnownUsers } from './known-users';

describe('KnownUsers', () => {
  it('answers what it was told, and undefined for the rest', () => {
    const known = new KnownUsers();
    known.markPresent('a');
    known.markMissing('b');
    expect([known.lookup('a'), known.lookup('b'), known.lookup('c')]).toEqual([true, false, undefined]);
  });

  it('a deletion wins over a present answer that comes later', () => {
    const known = new KnownUsers();
    known.markPresent('a');
    known.markMissing('a');
    known.markPresent('a'); // a lookup that started before the deletion
    expect(known.lookup('a')).toBe(false);
  });

  it('forgets every present id at once, never a missing one', () => {
    const known = new KnownUsers();
    known.markPresent('a');
    known.markMissing('b');
    known.forgetPresent();
    expect([known.lookup('a'), known.lookup('b')]).toEqual([undefined, false]);
  });

  it('stays within its bounds, dropping the oldest first', () => {
    const known = new KnownUsers(2, 2);
    ['a', 'b', 'c'].forEach((id) => known.markPresent(id));
    ['x', 'y', 'z'].forEach((id) => known.markMissing(id));
    expect(known.size).toEqual({ present: 2, missing: 2 });
    expect([known.lookup('a'), known.lookup('c'), known.lookup('x'), known.lookup('z')]).toEqual([
      undefined,
      true,
      undefined,
      false,
    ]);
  });
});
