// The SDK's receive path alone, in this process, with no network: a client signed in against a
// stub (one conversation), then `messages` frames of message.created handed to its socket's
// onmessage one after another, as ws would. CPU per message: parse, store, unread count, delivery
// receipt, events: what the SDK itself adds to a received frame.
import { ParleyClient } from '../../client/dist/index.js';

const ME = '00000000-0000-4000-8000-000000000001';
const OTHER = '00000000-0000-4000-8000-000000000002';
const CONVERSATION = '00000000-0000-4000-8000-00000000000c';
const now = new Date().toISOString();
const participant = (id) => ({
  id,
  username: id.slice(-4),
  displayName: id,
  role: 'member',
  online: true,
  lastSeenAt: null,
  lastReadSeq: 0,
});
const conversation = {
  id: CONVERSATION,
  type: 'direct',
  title: null,
  participants: [participant(ME), participant(OTHER)],
  lastMessage: null,
  lastSeq: 0,
  unreadCount: 0,
  createdAt: now,
  updatedAt: now,
};

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
async function fetchStub(input) {
  const { pathname } = new URL(input);
  if (pathname === '/api/v1/auth/login')
    return json({
      user: { id: ME, username: 'me', displayName: 'me', createdAt: now },
      accessToken: 'a',
      refreshToken: 'r',
      expiresIn: 900,
    });
  if (pathname === '/api/v1/sync') return json({ conversations: [conversation], token: 't0', hasMore: false });
  if (pathname === '/api/v1/conversations') return json({ items: [conversation], nextCursor: null });
  return json({ statusCode: 404, error: 'Not Found', message: pathname }, 404);
}

let socket;
class StubSocket {
  readyState = 1;
  onmessage = null;
  onclose = null;
  onerror = null;
  onopen = null;
  constructor() {
    socket = this;
    queueMicrotask(() => {
      this.onmessage({
        data: JSON.stringify({
          event: 'connected',
          data: { userId: ME, connectionId: 'c', serverTime: now, heartbeatMs: 30000 },
        }),
      });
      this.onmessage({ data: JSON.stringify({ event: 'synced', data: { token: 't1' } }) });
    });
  }
  send() {}
  close() {
    this.readyState = 3;
  }
}

/** µs of CPU per received message.created, over `messages` frames (after as many to warm up). */
export async function sdkReceiveInProcess(messages) {
  const client = await ParleyClient.create({ url: 'http://stub', fetch: fetchStub, WebSocket: StubSocket });
  await client.login('me', 'password');
  while (client.syncStatus !== 'synced') await new Promise((resolve) => setTimeout(resolve, 1));
  let received = 0;
  client.on('message', () => (received += 1));
  const frames = Array.from({ length: 2 * messages }, (_, i) =>
    JSON.stringify({
      event: 'message.created',
      data: {
        id: `m-${i}`,
        conversationId: CONVERSATION,
        seq: i + 1,
        senderId: OTHER,
        content: `message ${i}`,
        clientMessageId: `c-${i}`,
        replyToId: null,
        createdAt: new Date(Date.now() + i).toISOString(),
        editedAt: null,
        deleted: false,
        reactions: [],
      },
      conversationId: CONVERSATION,
      pos: i + 2,
    }),
  );
  for (let i = 0; i < messages; i++) socket.onmessage({ data: frames[i] }); // warm-up (JIT)
  const start = process.cpuUsage();
  for (let i = messages; i < 2 * messages; i++) socket.onmessage({ data: frames[i] });
  const cpu = process.cpuUsage(start);
  await client.close();
  if (received !== 2 * messages) throw new Error(`in-process: ${received} of ${2 * messages} messages announced`);
  return Math.round(((cpu.user + cpu.system) / messages) * 100) / 100;
}
