import { MemoryPresenceStore } from './presence-store';

describe('MemoryPresenceStore', () => {
  it('counts sockets up to max; the first is a coming online, the last starts a grace', async () => {
    const store = new MemoryPresenceStore();
    expect(await store.acquire('u', 2)).toEqual({ first: true });
    expect(await store.acquire('u', 2)).toEqual({ first: false });
    expect(await store.acquire('u', 2)).toBeUndefined();
    expect(await store.release('u')).toBeUndefined();
    const graceOver = await store.release('u');
    expect(await store.online(['u', 'other'])).toEqual([true, false]); // in its grace
    expect(await graceOver!()).toBe(true);
    expect(await store.online(['u'])).toEqual([false]);
  });

  it('a socket back within the grace is no coming online, and the grace ends with nobody gone', async () => {
    const store = new MemoryPresenceStore();
    await store.acquire('u', 5);
    const graceOver = await store.release('u');
    expect(await store.acquire('u', 5)).toEqual({ first: false });
    expect(await graceOver!()).toBe(false);
  });
});
