/**
 * The WebSocket protocol of docs/protocol.md §8 in one place: event names, error codes,
 * close codes, and the `{event, data}` envelope. The AsyncAPI document is built
 * from these, and a test checks the gateway against it.
 */
export const CLIENT_EVENTS = ['ping', 'auth', 'typing', 'read', 'delivered', 'message.send', 'sync'] as const;

/** Server events that answer one client frame or open the connection. */
export const REPLY_EVENTS = ['connected', 'pong', 'auth.ok', 'read.ok', 'message.ack', 'synced', 'error'] as const;

export const ERROR_CODES = {
  badRequest: 'bad_request',
  unknownEvent: 'unknown_event',
  forbidden: 'forbidden',
  rateLimited: 'rate_limited',
  unauthorized: 'unauthorized',
  tokenExpired: 'token_expired',
  conflict: 'conflict',
  /** A sync token that is invalid, another user's or past SYNC_RETENTION_MS (REST's 410): bootstrap again. */
  resyncRequired: 'resync_required',
  /** The database is unavailable (an outage or a restart): retry the same frame later. */
  unavailable: 'unavailable',
  internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

export const CLOSE_CODES = {
  goingAway: 1001,
  policyViolation: 1008,
  messageTooBig: 1009,
  tryAgainLater: 1013,
  unauthorized: 4401,
  tooManyConnections: 4429,
} as const;

export interface WsErrorData {
  code: ErrorCode;
  message: string;
  event?: string;
  clientMessageId?: string;
}

/** Serialises one frame of the envelope. */
export function frame(event: string, data: unknown): string {
  return JSON.stringify({ event, data });
}

/** Pushes of stored changes: their frames carry the change's place in the log (changeFrame). */
export const STORED_CHANGE_EVENTS: ReadonlySet<string> = new Set([
  'message.created',
  'message.updated',
  'message.deleted',
  'message.read',
  'message.delivered',
  'reaction.updated',
  'conversation.created',
  'conversation.updated',
]);

/** Where a stored change is in the change log: on its frame, live or replayed (docs/protocol.md §9.2). */
export interface FramePosition {
  conversationId: string;
  pos: number;
}

/** A stored change's frame: the envelope and its position, the client's cursor within the conversation. */
export function changeFrame(event: string, data: unknown, at: FramePosition): string {
  return JSON.stringify({ event, data, conversationId: at.conversationId, pos: at.pos });
}
