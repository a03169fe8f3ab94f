/** Builds SDK clients against a FakeParley, under Jest's fake timers. */
import { ParleyClient, type ParleyClientOptions } from '../../src/client.js';
import { MemoryStorage, type ParleyStorage } from '../../src/storage.js';
import { FakeParley } from './fake-server.js';
import { FakeNetwork } from './fake-network.js';

/** Storage that survives a "reload" (a new client on the same object) and says so. */
export class DurableMemoryStorage extends MemoryStorage {
  override readonly durable = true;
}

/** Modern fake timers; microtasks stay real (the fake server and promises use them). */
export function useFakeTime(): void {
  jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'], now: 1_800_000_000_000 });
}

/** Lets every pending microtask (frames, answers, promise chains) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}

/** Moves the fake clock, letting what each timer starts run as it goes. */
export async function advance(ms: number): Promise<void> {
  await settle();
  await jest.advanceTimersByTimeAsync(ms);
  await settle();
}

export interface Device {
  client: ParleyClient;
  network: FakeNetwork;
  storage: ParleyStorage;
}

/** A client of `server` on its own device (network, storage). */
export async function device(
  server: FakeParley,
  options: Partial<ParleyClientOptions> & { storage?: ParleyStorage; network?: FakeNetwork } = {},
): Promise<Device> {
  const network = options.network ?? new FakeNetwork();
  const storage = options.storage ?? new DurableMemoryStorage();
  const client = await ParleyClient.create({
    url: 'http://parley.test',
    fetch: server.fetch,
    WebSocket: server.WebSocket,
    network,
    locks: { run: (_name, fn) => fn() },
    ...options,
    storage,
  });
  return { client, network, storage };
}

/** Registers `username` on a new device and waits until its socket is open and caught up. */
export async function signedIn(
  server: FakeParley,
  username: string,
  options: Parameters<typeof device>[1] = {},
): Promise<Device> {
  const d = await device(server, options);
  await d.client.register(username, 'password123');
  await advance(0);
  if (d.client.syncStatus !== 'synced')
    throw new Error(`${username} did not sync: ${JSON.stringify(d.client.connectionState)}`);
  return d;
}

export { FakeNetwork, FakeParley };
