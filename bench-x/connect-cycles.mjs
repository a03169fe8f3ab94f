// Server RSS before and after N connect/disconnect cycles, read from /metrics.
// Usage: node bench/connect-cycles.mjs [baseUrl=http://127.0.0.1:3000] [cycles=1000]
import WebSocket from 'ws';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const cycles = Number(process.argv[3] ?? 1000);
const rss = async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)[1]) / 2 ** 20;
};
const gauge = async (name) =>
  Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${base}/metrics`)).text())[1]);
const user = await (
  await fetch(`${base}/api/v1/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: `cyc_${Date.now().toString(36)}`, password: 'password-1234' }),
  })
).json();
const cycle = () =>
  new Promise((resolve, reject) => {
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?token=${user.accessToken}`);
    socket.once('message', () => socket.close());
    socket.once('close', resolve);
    socket.once('error', reject);
  });
for (let i = 0; i < 100; i++) await cycle(); // warm up
const before = await rss();
for (let i = 0; i < cycles; i++) await cycle();
const after = await rss();
console.log(
  `${cycles} connect/disconnect cycles: server RSS ${before.toFixed(1)} MiB before, ${after.toFixed(1)} MiB after; ws_connections now ${await gauge('ws_connections')}`,
);
