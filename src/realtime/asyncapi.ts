import { DOMAIN_EVENT_NAMES } from '../events/domain-events';
import { CLIENT_EVENTS, CLOSE_CODES, ERROR_CODES, REPLY_EVENTS } from './ws-protocol';

const uuid = { type: 'string', format: 'uuid' };
const time = { type: 'string', format: 'date-time' };
const seq = { type: 'integer', minimum: 0 };
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

/** Payload (`data`) schema of every event, client and server. */
const PAYLOADS: Record<string, unknown> = {
  // client -> server
  ping: obj({}),
  auth: obj({ token: { type: 'string', description: 'A fresh access token of the same user' } }),
  typing: obj({ conversationId: uuid, isTyping: { type: 'boolean' } }),
  read: obj({ conversationId: uuid, seq }),
  delivered: obj({ conversationId: uuid, seq }),
  'message.send': obj(
    {
      conversationId: uuid,
      content: { type: 'string' },
      clientMessageId: { type: 'string', pattern: '^[A-Za-z0-9._:-]{1,64}$' },
      replyToId: uuid,
    },
    ['conversationId', 'content', 'clientMessageId'],
  ),
  // server -> client, replies
  connected: obj({ userId: uuid, connectionId: uuid, serverTime: time, heartbeatMs: { type: 'integer' } }),
  pong: obj({ serverTime: time }),
  'auth.ok': obj({ expiresAt: time }),
  'read.ok': obj({ conversationId: uuid, lastReadSeq: seq }),
  'message.ack': obj({ clientMessageId: { type: 'string' }, message: ref('Message') }),
  error: obj(
    {
      code: { type: 'string', enum: Object.values(ERROR_CODES) },
      message: { type: 'string' },
      event: { type: 'string', description: 'The client event that failed' },
      clientMessageId: { type: 'string', description: 'Of the failed message.send' },
    },
    ['code', 'message'],
  ),
  // server -> client, pushes
  'message.created': ref('Message'),
  'message.updated': ref('Message'),
  'message.deleted': obj({ conversationId: uuid, messageId: uuid, seq }),
  'message.read': obj({ conversationId: uuid, userId: uuid, seq, readAt: time }),
  'message.delivered': obj({ conversationId: uuid, userId: uuid, seq }),
  'reaction.updated': obj({
    conversationId: uuid,
    messageId: uuid,
    reactions: { type: 'array', items: ref('Reaction') },
  }),
  presence: obj({ userId: uuid, status: { type: 'string', enum: ['online', 'offline'] }, lastSeenAt: time }),
  'conversation.created': ref('Conversation'),
  'conversation.updated': ref('Conversation'),
};

/** Server-pushed typing carries the typist too; the client sends only conversation and state. */
const SERVER_TYPING = obj({ conversationId: uuid, userId: uuid, isTyping: { type: 'boolean' } });

export const SERVER_EVENTS: readonly string[] = [...REPLY_EVENTS, ...DOMAIN_EVENT_NAMES];

function message(name: string, payload: unknown, summary: string) {
  return {
    name,
    summary,
    payload: obj({ event: { type: 'string', const: name }, data: payload as object }),
  };
}

/** The AsyncAPI 3 description of /ws, served at /docs/asyncapi.json. */
export function asyncApiDocument(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  for (const name of CLIENT_EVENTS) messages[`client.${name}`] = message(name, PAYLOADS[name], 'client to server');
  for (const name of SERVER_EVENTS) {
    messages[`server.${name}`] = message(name, name === 'typing' ? SERVER_TYPING : PAYLOADS[name], 'server to client');
  }
  const refs = (prefix: string) =>
    Object.keys(messages)
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ $ref: `#/channels/ws/messages/${k}` }));
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Parley WebSocket',
      version: '1',
      description: [
        'Connect to `/ws?token=<accessToken>` or send `Authorization: Bearer`. Every frame both ways is JSON text `{"event", "data"}`.',
        `A missing, bad or expired token, or one whose user no longer exists: the upgrade is accepted and closed with ${CLOSE_CODES.unauthorized} before any event `,
        `(${CLOSE_CODES.tryAgainLater} when the database cannot be asked: reconnect later); a user deleted while connected gets \`error {code: unauthorized}\` and ${CLOSE_CODES.unauthorized}. `,
        `\`connected\` is the first frame. At token expiry the server sends \`error {code: token_expired}\` and closes with ${CLOSE_CODES.unauthorized} unless \`auth\` renewed it. `,
        `Frames over WS_MAX_FRAME_BYTES close with ${CLOSE_CODES.messageTooBig}; one more socket than MAX_CONNECTIONS_PER_USER closes with ${CLOSE_CODES.tooManyConnections}; `,
        `a socket flooding far past RATE_WS_PER_SEC closes with ${CLOSE_CODES.policyViolation}; a slow consumer whose buffer passes WS_MAX_BUFFERED_BYTES is terminated; `,
        `on shutdown sockets close with ${CLOSE_CODES.goingAway}. Anything else wrong gets an \`error\` frame and the socket stays open.`,
        'Events of one conversation arrive in seq order per socket, never out of order; a seq that does not arrive within 1 s is skipped (the client sees the gap) ',
        'and catches up with GET /api/v1/conversations/:id/messages?after=<last seq>, as after a reconnect. ',
        '`error {code: unavailable}` means the database is down or restarting: send the same frame again later.',
      ].join(''),
    },
    servers: { local: { host: 'localhost:3000', protocol: 'ws', pathname: '/ws' } },
    channels: { ws: { address: '/ws', messages } },
    operations: {
      receiveClientEvents: { action: 'receive', channel: { $ref: '#/channels/ws' }, messages: refs('client.') },
      sendServerEvents: { action: 'send', channel: { $ref: '#/channels/ws' }, messages: refs('server.') },
    },
    components: {
      schemas: {
        Reaction: obj({ emoji: { type: 'string' }, count: { type: 'integer' }, me: { type: 'boolean' } }),
        Message: { description: 'As in the REST API (MessageDto in /docs-json)', type: 'object' },
        Conversation: { description: 'As in the REST API (ConversationDto in /docs-json)', type: 'object' },
      },
    },
  };
}
