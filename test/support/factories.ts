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
