import { createHmac } from 'node:crypto';
import { TEST_JWT_SECRET } from './test-app';

const b64 = (value: object | string) =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** Hand-made JWTs for the forged / expired / `alg: none` cases. */
export function craftJwt(
  payload: Record<string, unknown>,
  { alg = 'HS256', secret = TEST_JWT_SECRET, sign = true }: { alg?: string; secret?: string; sign?: boolean } = {},
): string {
  const head = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  if (!sign) return `${head}.`;
  const hash = alg === 'HS512' ? 'sha512' : alg === 'HS384' ? 'sha384' : 'sha256';
  return `${head}.${createHmac(hash, secret).update(head).digest('base64url')}`;
}

export const nowSeconds = () => Math.floor(Date.now() / 1000);
