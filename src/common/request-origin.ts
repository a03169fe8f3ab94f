import type { Request } from 'express';

/** A host, or host:port, as a Host header may carry it; anything else is not echoed into a document or header. */
const HOST = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Where a client reached this server, for its WebSocket: the AsyncAPI document's server, the demo page's CSP. */
export interface SocketOrigin {
  host: string;
  protocol: 'ws' | 'wss';
}

/**
 * The address the client reached us at: Express's `host` and `protocol` read
 * X-Forwarded-Host/-Proto only from the proxies `trust proxy` (TRUST_PROXY_HOPS)
 * trusts, and the Host header otherwise; without a usable one, the socket's own address.
 */
export function serverOf(request: Request): SocketOrigin {
  const protocol = request.protocol === 'https' ? 'wss' : 'ws';
  const host = request.host;
  if (host && HOST.test(host)) return { host, protocol };
  const { localAddress = 'localhost', localPort } = request.socket;
  const address = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return { host: localPort ? `${address}:${localPort}` : address, protocol };
}
