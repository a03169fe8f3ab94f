import { ConversationDto } from '../conversations/dto/conversation.dto';
import type { SocketOrigin } from '../common/request-origin';
import { MAX_SEQ } from '../common/validation';
import { DOMAIN_EVENT_NAMES, type DomainEvents } from '../events/domain-events';
import { MessageDto, MessageReactionsDto } from '../messages/dto/message.dto';
import { CLIENT_MESSAGE_ID } from '../messages/dto/send-message.dto';
import { dtoRef, dtoSchemas, type JsonSchema } from './asyncapi-schemas';
import type { AuthDto, SendMessageFrameDto, SeqMarkerDto, SyncFrameDto, TypingDto } from './dto/client-events.dto';
import type { RealtimeGateway } from './realtime.gateway';
import {
  CLIENT_EVENTS,
  CLOSE_CODES,
  ERROR_CODES,
  REPLY_EVENTS,
  STORED_CHANGE_EVENTS,
  type WsErrorData,
} from './ws-protocol';

const uuid = { type: 'string', format: 'uuid' };
const time = { type: 'string', format: 'date-time' };
const seq = { type: 'integer', minimum: 0, maximum: MAX_SEQ };

/** One schema per field of T, no more and no fewer: the compiler keeps these in step with the code's types. */
type Fields<T> = { [K in keyof T]-?: JsonSchema };

const obj = <T>(properties: Fields<T>, optional: (keyof T & string)[] = []): JsonSchema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((key) => !optional.includes(key as keyof T & string)),
  additionalProperties: false,
});

/** What a push carries: the domain event's payload less `recipients` and `change` (FanoutService's default renderer). */
type Pushed<K extends keyof DomainEvents> = Omit<DomainEvents[K], 'recipients' | 'change'>;
/** What a gateway handler replies with. */
type ReplyData<K extends keyof RealtimeGateway> = RealtimeGateway[K] extends (...args: any[]) => infer R
  ? Awaited<R> extends { data: infer D }
    ? D
    : never
  : never;

/**
 * The DTOs that frames are made of (FanoutService, the gateway's replies), with
 * every DTO they reference (participants, reactions): generated from their
 * @ApiProperty metadata, as the OpenAPI document is.
 */
const FRAME_DTOS = [MessageDto, ConversationDto, MessageReactionsDto];

/** Payload (`data`) schema of every client event. */
const CLIENT_PAYLOADS: Record<(typeof CLIENT_EVENTS)[number], JsonSchema> = {
  ping: obj<Record<string, never>>({}),
  auth: obj<AuthDto>({
    token: { type: 'string', minLength: 1, maxLength: 4096, description: 'A fresh access token of the same user' },
  }),
  typing: obj<TypingDto>({ conversationId: uuid, isTyping: { type: 'boolean' } }),
  read: obj<SeqMarkerDto>({ conversationId: uuid, seq }),
  delivered: obj<SeqMarkerDto>({ conversationId: uuid, seq }),
  sync: obj<SyncFrameDto>({
    since: {
      type: 'string',
      minLength: 1,
      maxLength: 8192,
      description: 'A token from GET /api/v1/sync or a `synced` frame: replays every change since it, then `synced`',
    },
  }),
  'message.send': obj<SendMessageFrameDto>(
    {
      conversationId: uuid,
      content: { type: 'string', description: '1 to MESSAGE_MAX_LENGTH (default 4000) characters after trimming' },
      clientMessageId: { type: 'string', pattern: CLIENT_MESSAGE_ID.source },
      replyToId: uuid,
    },
    ['replyToId'],
  ),
};

/** Payload (`data`) schema of every server event. */
const SERVER_PAYLOADS: Record<(typeof REPLY_EVENTS)[number] | keyof DomainEvents, JsonSchema> = {
  // replies
  connected: obj<{ userId: string; connectionId: string; serverTime: string; heartbeatMs: number }>({
    userId: uuid,
    connectionId: uuid,
    serverTime: time,
    heartbeatMs: { type: 'integer', minimum: 1, description: 'WS_HEARTBEAT_MS: how often the server pings' },
  }),
  pong: obj<ReplyData<'ping'>>({ serverTime: time }),
  'auth.ok': obj<ReplyData<'auth'>>({ expiresAt: time }),
  'read.ok': obj<ReplyData<'read'>>({ conversationId: uuid, lastReadSeq: seq }),
  'message.ack': obj<ReplyData<'send'>>({ clientMessageId: { type: 'string' }, message: dtoRef(MessageDto) }),
  synced: obj<{ token: string }>({
    token: {
      type: 'string',
      description:
        'The replay is complete: every change up to this token was sent. Keep it (with the positions of the ' +
        'frames after it) and resume from it next time; live events follow',
    },
  }),
  error: obj<WsErrorData>(
    {
      code: { type: 'string', enum: Object.values(ERROR_CODES) },
      message: { type: 'string' },
      event: { type: 'string', description: 'The client event that failed' },
      clientMessageId: { type: 'string', description: 'Of the failed message.send' },
    },
    ['event', 'clientMessageId'],
  ),
  // pushes
  'message.created': dtoRef(MessageDto),
  'message.updated': dtoRef(MessageDto),
  'message.deleted': obj<Pushed<'message.deleted'>>({ conversationId: uuid, messageId: uuid, seq }),
  'message.read': obj<Pushed<'message.read'>>({ conversationId: uuid, userId: uuid, seq, readAt: time }),
  'message.delivered': obj<Pushed<'message.delivered'>>({ conversationId: uuid, userId: uuid, seq }),
  'reaction.updated': dtoRef(MessageReactionsDto),
  typing: obj<Pushed<'typing'>>({
    conversationId: uuid,
    userId: { ...uuid, description: 'The typist (never the receiver)' },
    isTyping: { type: 'boolean' },
  }),
  presence: obj<Pushed<'presence'>>({
    userId: uuid,
    status: { type: 'string', enum: ['online', 'offline'] },
    lastSeenAt: time,
  }),
  'conversation.created': dtoRef(ConversationDto),
  'conversation.updated': dtoRef(ConversationDto),
};

export const SERVER_EVENTS: readonly string[] = [...REPLY_EVENTS, ...DOMAIN_EVENT_NAMES];

function message(name: string, payload: JsonSchema, summary: string, stored = false) {
  const envelope = stored
    ? obj<{ event: string; data: unknown; conversationId: string; pos: number }>({
        event: { type: 'string', const: name },
        data: payload,
        conversationId: uuid,
        pos: {
          type: 'integer',
          minimum: 1,
          description: "The change's position in its conversation's log: ascending in commit order",
        },
      })
    : obj<{ event: string; data: unknown }>({ event: { type: 'string', const: name }, data: payload });
  return { name, summary, contentType: 'application/json', payload: envelope };
}

const DESCRIPTION = [
  'Connect to `/ws?token=<accessToken>` or send `Authorization: Bearer`. Every frame both ways is JSON text `{"event", "data"}`.',
  `A missing, bad or expired token, or one whose user no longer exists: the upgrade is accepted and closed with ${CLOSE_CODES.unauthorized} before any event `,
  `(${CLOSE_CODES.tryAgainLater} when the database cannot be asked: reconnect later); a user deleted while connected gets \`error {code: unauthorized}\` and ${CLOSE_CODES.unauthorized}. `,
  `\`connected\` is the first frame. At token expiry the server sends \`error {code: token_expired}\` and closes with ${CLOSE_CODES.unauthorized} unless \`auth\` renewed it. `,
  `Frames over WS_MAX_FRAME_BYTES close with ${CLOSE_CODES.messageTooBig}; one more socket than MAX_CONNECTIONS_PER_USER closes with ${CLOSE_CODES.tooManyConnections}; `,
  `a socket flooding far past RATE_WS_PER_SEC closes with ${CLOSE_CODES.policyViolation}; a slow consumer whose buffer passes WS_MAX_BUFFERED_BYTES is terminated; `,
  `on shutdown sockets close with ${CLOSE_CODES.goingAway}. Anything else wrong gets an \`error\` frame and the socket stays open.`,
  'Events of one conversation arrive in seq order per socket; a seq that does not arrive within 1 s is skipped (the client sees the gap) ',
  'and pushed later from the change log, out of order (or fetched with GET /api/v1/conversations/:id/messages?after=<last seq>). ',
  '`error {code: unavailable}` means the database is down or restarting: send the same frame again later. ',
  'A stored change (a message created, edited or deleted, a reaction, a read or delivery marker, a conversation created or updated) ',
  'also carries `conversationId` and `pos`, its place in the change log. To resume after being away, connect to `/ws?token=...&since=<sync token>` ',
  '(or send `sync {since}` first thing after `connected`): the changes since the token arrive as these same events, then `synced {token}`, then live events, ',
  'none missing and none twice at the switch. A token that is invalid, foreign or older than SYNC_RETENTION_MS: `error {code: resync_required}` ',
  '(bootstrap again with GET /api/v1/sync). Live events are never lost: one whose bus message was lost is pushed from the log within about ',
  'LOG_FOLLOW_MS + LIVE_REPAIR_AFTER_MS (1 s by default), then possibly after later ones. ',
  "Message, Conversation and the schemas they use are the REST API's (MessageDto, ConversationDto... in /docs-json).",
].join('');

/** Everything but the server, which depends on the request: built once. */
let staticPart: Record<string, unknown> | undefined;

function buildStaticPart(): Record<string, unknown> {
  const messages: Record<string, unknown> = {};
  for (const name of CLIENT_EVENTS)
    messages[`client.${name}`] = message(name, CLIENT_PAYLOADS[name], 'client to server');
  for (const name of REPLY_EVENTS)
    messages[`server.${name}`] = message(name, SERVER_PAYLOADS[name], 'server to client');
  for (const name of DOMAIN_EVENT_NAMES) {
    messages[`server.${name}`] = message(
      name,
      SERVER_PAYLOADS[name],
      'server to client',
      STORED_CHANGE_EVENTS.has(name),
    );
  }
  const refs = (prefix: string) =>
    Object.keys(messages)
      .filter((k) => k.startsWith(prefix))
      .map((k) => ({ $ref: `#/channels/ws/messages/${k}` }));
  return {
    info: { title: 'Parley WebSocket', version: '1', description: DESCRIPTION },
    channels: { ws: { address: '/ws', messages } },
    operations: {
      receiveClientEvents: { action: 'receive', channel: { $ref: '#/channels/ws' }, messages: refs('client.') },
      sendServerEvents: { action: 'send', channel: { $ref: '#/channels/ws' }, messages: refs('server.') },
    },
    components: { schemas: dtoSchemas(FRAME_DTOS) },
  };
}

/**
 * The AsyncAPI 3 description of /ws, served at /docs/asyncapi.json with the
 * server the request came to (the default is for callers without a request).
 */
export function asyncApiDocument(
  server: SocketOrigin = { host: 'localhost:3000', protocol: 'ws' },
): Record<string, unknown> {
  staticPart ??= buildStaticPart();
  return {
    asyncapi: '3.0.0',
    info: staticPart.info,
    servers: { parley: { host: server.host, protocol: server.protocol, pathname: '/ws' } },
    ...staticPart,
  };
}
