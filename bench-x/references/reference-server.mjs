// The two references the benchmark measures Parley against, speaking only the part of
// the contract its latency and throughput scenarios use (register, open a direct
// conversation, send over REST or `message.send`, `message.created` pushes):
//   relay: node:http + ws, no database, no work: the ceiling of the transport;
//   pgws:  plain `pg` + `ws` doing the writes Parley does for a send (one statement that
//          takes the seq and inserts the message), without Nest, validation or auth.
// Usage: node bench/references/reference-server.mjs relay|pgws <port> [databaseUrl]
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';
import { WebSocketServer } from 'ws';

const [kind, portText, databaseUrl] = process.argv.slice(2);
const pool = kind === 'pgws' ? new pg.Pool({ connectionString: databaseUrl, max: 20 }) : undefined;
if (pool) {
  await pool.query(`CREATE TABLE IF NOT EXISTS ref_conversations (id uuid PRIMARY KEY, last_seq int NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS ref_messages (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), conversation_id uuid NOT NULL,
      seq int NOT NULL, sender_id uuid NOT NULL, content text NOT NULL, client_message_id varchar(64),
      created_at timestamptz NOT NULL DEFAULT clock_timestamp(), UNIQUE (conversation_id, seq))`);
}

const conversations = new Map(); // id -> { members, seq }
const sockets = new Map(); // userId -> Set<ws>

async function send(senderId, conversationId, content, clientMessageId) {
  const conversation = conversations.get(conversationId);
  let message;
  if (pool) {
    const { rows } = await pool.query(
      `WITH s AS (UPDATE ref_conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING id, last_seq)
       INSERT INTO ref_messages (conversation_id, seq, sender_id, content, client_message_id)
       SELECT id, last_seq, $2, $3, $4 FROM s RETURNING id, seq, created_at`,
      [conversationId, senderId, content, clientMessageId ?? null],
    );
    message = { id: rows[0].id, seq: rows[0].seq, createdAt: rows[0].created_at.toISOString() };
  } else {
    message = { id: randomUUID(), seq: ++conversation.seq, createdAt: new Date().toISOString() };
  }
  const full = { ...message, conversationId, senderId, content, clientMessageId: clientMessageId ?? null };
  const text = JSON.stringify({ event: 'message.created', data: full });
  for (const member of conversation.members) for (const ws of sockets.get(member) ?? []) ws.send(text);
  return full;
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', async () => {
    const reply = (status, data) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    try {
      const input = body ? JSON.parse(body) : {};
      const caller = (req.headers.authorization ?? '').replace('Bearer ', '');
      if (req.url === '/health') return reply(200, { status: 'ok' });
      if (req.url === '/api/v1/auth/register') {
        const id = randomUUID();
        return reply(201, { user: { id }, accessToken: id });
      }
      if (req.url === '/api/v1/conversations') {
        const id = randomUUID();
        conversations.set(id, { members: [caller, input.participantId], seq: 0 });
        if (pool) await pool.query('INSERT INTO ref_conversations (id) VALUES ($1)', [id]);
        return reply(201, { id });
      }
      const match = /^\/api\/v1\/conversations\/([^/]+)\/messages$/.exec(req.url);
      if (match) return reply(201, await send(caller, match[1], input.content, input.clientMessageId));
      reply(404, {});
    } catch (error) {
      reply(500, { message: String(error) });
    }
  });
});

new WebSocketServer({ server, path: '/ws' }).on('connection', (ws, req) => {
  const userId = new URL(req.url, 'ws://x').searchParams.get('token');
  const mine = sockets.get(userId) ?? new Set();
  mine.add(ws);
  sockets.set(userId, mine);
  ws.send(JSON.stringify({ event: 'connected', data: { userId } }));
  ws.on('close', () => mine.delete(ws));
  ws.on('message', async (raw) => {
    const { event, data } = JSON.parse(raw);
    if (event !== 'message.send') return;
    const message = await send(userId, data.conversationId, data.content, data.clientMessageId);
    ws.send(JSON.stringify({ event: 'message.ack', data: { clientMessageId: data.clientMessageId, message } }));
  });
});

server.listen(Number(portText), '127.0.0.1', () => console.log(`reference ${kind} on ${portText}`));
