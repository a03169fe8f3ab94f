import { Agent, request } from 'node:http';
import WebSocket from 'ws';

// node:http with a bounded keep-alive pool rather than fetch: fetch costs the load generator
// about twice the CPU per request, and on 2 cores that CPU is taken from the server.
// Requests beyond the pool wait in the agent's queue; the scenarios time from the send.
const agent = new Agent({ keepAlive: true, maxSockets: 256, keepAliveMsecs: 10_000 });

/** Speaks the Parley contract (REST + /ws) for the scenarios. */
export class Parley {
  constructor(baseUrl) {
    this.baseUrl = baseUrl;
    this.wsBase = baseUrl.replace(/^http/, 'ws');
  }

  request(method, path, body, token) {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    if (payload !== undefined) headers['content-length'] = Buffer.byteLength(payload);
    return new Promise((resolve, reject) => {
      const req = request(`${this.baseUrl}/api/v1${path}`, { method, headers, agent }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => {
          if (res.statusCode >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 200)}`));
          else resolve(text ? JSON.parse(text) : undefined);
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Registers `count` users, a few at a time (argon2 is deliberately slow). */
  async users(count, prefix) {
    const stamp = `${prefix}${Date.now().toString(36)}`;
    const users = [];
    for (let i = 0; i < count; i += 16) {
      const batch = Array.from({ length: Math.min(16, count - i) }, (_, j) =>
        this.request('POST', '/auth/register', {
          username: `${stamp}_${i + j}`.slice(0, 32),
          password: 'bench-password',
        }),
      );
      for (const session of await Promise.all(batch))
        users.push({ id: session.user.id, username: session.user.username, token: session.accessToken });
    }
    return users;
  }

  direct(a, b) {
    return this.request('POST', '/conversations', { type: 'direct', participantId: b.id }, a.token);
  }

  async group(owner, members) {
    const group = await this.request(
      'POST',
      '/conversations',
      { type: 'group', title: 'bench', participantIds: [] },
      owner.token,
    );
    for (let i = 0; i < members.length; i += 100) {
      await this.request(
        'POST',
        `/conversations/${group.id}/participants`,
        { userIds: members.slice(i, i + 100).map((m) => m.id) },
        owner.token,
      );
    }
    return group;
  }

  send(user, conversationId, content, clientMessageId) {
    return this.request('POST', `/conversations/${conversationId}/messages`, { content, clientMessageId }, user.token);
  }

  /** Opens a socket; `onFrame(frame, receivedAt)` sees every frame after `connected`. */
  socket(user, onFrame = () => undefined) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`${this.wsBase}/ws?token=${user.token}`);
      ws.once('error', reject);
      ws.once('close', (code) => reject(new Error(`socket closed before connected: ${code}`)));
      ws.on('message', (raw) => {
        const receivedAt = performance.now();
        const frame = JSON.parse(raw);
        if (frame.event === 'connected') resolve(ws);
        else onFrame(frame, receivedAt);
      });
    });
  }
}
