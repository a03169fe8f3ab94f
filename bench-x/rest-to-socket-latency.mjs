// Latency from a REST send to the recipient's socket, against a running server.
// Usage: node bench/rest-to-socket-latency.mjs [baseUrl=http://127.0.0.1:3000] [messages=500]
// against a server started with a send limit above the rate used here, e.g.
// RATE_SEND_PER_SEC=100000 npm start
// Messages go one at a time (each waits for its delivery), so this is latency
// without load: what one user sees.
import WebSocket from 'ws';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const count = Number(process.argv[3] ?? 500);
const api = (path, body, token) =>
  fetch(`${base}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  }).then(async (r) => ({ status: r.status, body: await r.json() }));

const stamp = Date.now().toString(36);
const sender = (await api('/auth/register', { username: `lat_s_${stamp}`, password: 'password-1234' })).body;
const recipient = (await api('/auth/register', { username: `lat_r_${stamp}`, password: 'password-1234' })).body;
const conversation = (
  await api('/conversations', { type: 'direct', participantId: recipient.user.id }, sender.accessToken)
).body;

const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/ws?token=${recipient.accessToken}`);
const waiting = new Map();
socket.on('message', (raw) => {
  const frame = JSON.parse(raw);
  if (frame.event === 'message.created') waiting.get(frame.data.content)?.(performance.now());
});
await new Promise((resolve) => socket.once('open', resolve));

const samples = [];
for (let i = 0; i < count + 20; i++) {
  const content = `m${i}`;
  const arrived = new Promise((resolve) => waiting.set(content, resolve));
  const start = performance.now();
  const res = await api(`/conversations/${conversation.id}/messages`, { content }, sender.accessToken);
  if (res.status === 429) throw new Error('rate limited: start the server with RATE_SEND_PER_SEC=100000');
  if (res.status !== 201) throw new Error(`send failed: ${res.status}`);
  const end = await arrived;
  waiting.delete(content);
  if (i >= 20) samples.push(end - start); // the first 20 warm up
}
socket.close();
samples.sort((a, b) => a - b);
const at = (p) => samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))].toFixed(2);
console.log(
  `REST send -> recipient socket, ${samples.length} messages: p50 ${at(50)} ms, p90 ${at(90)} ms, p99 ${at(99)} ms, max ${samples.at(-1).toFixed(2)} ms`,
);
