import { Snapshot } from './snapshot';

describe('Snapshot: pg_visible_in_snapshot without the database', () => {
  const snapshot = new Snapshot('100:110:103,107');

  it.each([
    ['99', true],
    ['100', true],
    ['103', false],
    ['105', true],
    ['107', false],
    ['109', true],
    ['110', false],
    ['18446744073709551615', false],
  ])('xid %s: %s', (xid, seen) => {
    expect(snapshot.sees(xid)).toBe(seen);
  });

  it('reads a snapshot with nothing in progress', () => {
    const idle = new Snapshot('5:5:');
    expect([idle.sees('4'), idle.sees('5')]).toEqual([true, false]);
  });
});
