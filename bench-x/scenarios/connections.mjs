import { round, rssMiB } from '../lib/stats.mjs';

/** `count` idle authenticated sockets: server RSS per socket and connects per second. */
export async function connections(parley, { count = 15_000, serverPid } = {}, load) {
  const users = await parley.users(Math.ceil(count / 1000), 'con'); // at most 1000 sockets per user
  const before = rssMiB(serverPid);
  const sockets = [];
  load?.begin();
  const started = performance.now();
  for (let i = 0; i < count; i += 500) {
    const batch = Array.from({ length: Math.min(500, count - i) }, (_, j) =>
      parley.socket(users[(i + j) % users.length]),
    );
    sockets.push(...(await Promise.all(batch)));
  }
  const connectSeconds = (performance.now() - started) / 1000;
  load?.end();
  await new Promise((resolve) => setTimeout(resolve, 2_000)); // let the server settle before reading RSS
  const after = rssMiB(serverPid);
  await Promise.all(
    sockets.map(
      (socket) =>
        new Promise((resolve) => {
          socket.once('close', resolve);
          socket.close();
        }),
    ),
  );
  return {
    scenario: 'connections',
    sockets: count,
    connectsPerSec: Math.round(count / connectSeconds),
    serverRssMiB: { before, after },
    serverKiBPerSocket: round(((after - before) * 1024) / count),
  };
}
