/**
 * @parley/client: the official Parley SDK. Start with `ParleyClient.create({ url })`;
 * see the package README for the connection's states, the outbox and storage adapters.
 */
export { ParleyClient } from './client.js';
export type {
  ChatMessage,
  ConversationView,
  MessageStatus,
  ParleyClientOptions,
  ParleyEvents,
  SyncStatus,
} from './client.js';
export { BACKOFF_MS, backoffDelay, platformNetwork } from './connection.js';
export type {
  ConnectionState,
  NetworkMonitor,
  ServerFrame,
  WebSocketConstructor,
  WebSocketLike,
} from './connection.js';
export { systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { ParleyError } from './errors.js';
export type { ParleyErrorKind } from './errors.js';
export type { FetchLike } from './http.js';
export { ACK_TIMEOUT_MS, RETRY_DELAYS_MS } from './outbox.js';
export type { OutboxItem } from './outbox.js';
export { defaultLocks } from './session.js';
export type { Locks, SessionData, SessionEndReason } from './session.js';
export { IndexedDbStorage, MemoryStorage } from './storage.js';
export type { ParleyStorage, StorageOp } from './storage.js';
export type { Presence } from './store.js';
export { TYPING_EXPIRY_MS, TYPING_IDLE_MS, TYPING_REFRESH_MS } from './typing.js';
export * from './protocol.js';
