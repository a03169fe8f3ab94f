// A receiving client in a process of its own, so that its CPU is its own: `sdk` is @parley/client
// (client/dist, MemoryStorage, delivery receipts on: what an app's client does per message), `ws`
// a plain socket that parses each frame and counts (the floor any client pays).
// Protocol with the parent (IPC): ← {username, password, url}; → {ready}; ← {start, expected};
// → {started} (the parent sends only then); → {done, received, duplicates, cpuMs, wallMs} once
// `expected` messages arrived.
import WebSocket from 'ws';

const kind = process.argv[2];
const { ParleyClient } = kind === 'sdk' ? await import('../../client/dist/index.js') : {};

function onceMessage(predicate) {
  return new Promise((resolve) => {
    const handler = (message) => predicate(message) && (process.off('message', handler), resolve(message));
    process.on('message', handler);
  });
}

const { url, username, password, token } = await onceMessage((m) => m.url);
let received = 0;
let duplicates = 0;
const seen = new Set();
let run;
const count = (id) => {
  if (seen.has(id)) duplicates += 1;
  else seen.add(id);
  received += 1;
  if (run && received >= run.expected) {
    const cpu = process.cpuUsage(run.cpu);
    process.send({
      done: true,
      received,
      duplicates,
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs: performance.now() - run.wall,
    });
    run = undefined;
    // Done: a clean exit (a --cpu-prof profile is written then).
    process.disconnect();
    setImmediate(() => process.exit(0));
  }
};

if (kind === 'sdk') {
  const client = await ParleyClient.create({ url, WebSocket });
  await client.login(username, password);
  await new Promise((resolve) =>
    client.syncStatus === 'synced' ? resolve() : client.on('sync', (s) => s.status === 'synced' && resolve()),
  );
  client.on('message', (message) => count(message.id));
} else {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/ws?token=${token}`);
  await new Promise((resolve) => ws.once('open', resolve));
  ws.on('message', (raw) => {
    const frame = JSON.parse(raw);
    if (frame.event === 'message.created') count(frame.data.id);
  });
}
process.send({ ready: true });
const { expected } = await onceMessage((m) => m.start);
received = 0;
seen.clear();
run = { expected, cpu: process.cpuUsage(), wall: performance.now() };
process.send({ started: true });
