import { randomBytes } from 'node:crypto';
import type { HttpClient } from './http-client';

let counter = 0;

/** Unique across runs and workers, within the 32-character limit. */
export function uniqueUsername(prefix = 'u'): string {
  counter += 1;
  return `${prefix}${process.pid.toString(36)}${counter.toString(36)}${randomBytes(3).toString('hex')}`.slice(0, 32);
}

export interface RegisteredUser {
  id: string;
  username: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

export async function registerUser(
  http: HttpClient,
  overrides: { username?: string; password?: string; displayName?: string } = {},
): Promise<RegisteredUser> {
  const username = overrides.username ?? uniqueUsername();
  const password = overrides.password ?? 'password-1234';
  const response = await http.post('/api/v1/auth/register', { username, password, displayName: overrides.displayName });
  if (response.status !== 201) throw new Error(`register failed: ${response.status} ${response.text}`);
  const { user, accessToken, refreshToken } = response.body;
  return { id: user.id, username: user.username, password, accessToken, refreshToken };
}

export async function openDirect(http: HttpClient, a: RegisteredUser, b: RegisteredUser): Promise<string> {
  const res = await http.post(
    '/api/v1/conversations',
    { type: 'direct', participantId: b.id },
    { token: a.accessToken },
  );
  if (res.status !== 201 && res.status !== 200) throw new Error(`openDirect failed: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function createGroup(
  http: HttpClient,
  owner: RegisteredUser,
  members: RegisteredUser[],
  title = 'A group',
): Promise<string> {
  const res = await http.post(
    '/api/v1/conversations',
    { type: 'group', title, participantIds: members.map((m) => m.id) },
    { token: owner.accessToken },
  );
  if (res.status !== 201) throw new Error(`createGroup failed: ${res.status} ${res.text}`);
  return res.body.id;
}

export async function sendMessage(
  http: HttpClient,
  sender: RegisteredUser,
  conversationId: string,
  content = 'hello',
  extra: { clientMessageId?: string; replyToId?: string } = {},
) {
  const res = await http.post(
    `/api/v1/conversations/${conversationId}/messages`,
    { content, ...extra },
    { token: sender.accessToken },
  );
  if (res.status !== 201 && res.status !== 200) throw new Error(`send failed: ${res.status} ${res.text}`);
  return res.body;
}
