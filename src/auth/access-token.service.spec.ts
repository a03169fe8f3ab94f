import { UnauthorizedException } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { JwtModule, JwtService } from '@nestjs/jwt';
import { Test } from '@nestjs/testing';
import { createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { AccessTokenService } from './access-token.service';

const SECRET = 'unit-test-secret-unit-test-secret-unit';
const USER = '3f1c1e9a-2b4d-4c6e-8f00-112233445566';

function craft(header: object, payload: object, secret = SECRET): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${b64(header)}.${b64(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
}

/** A fresh service (its own memory of verified tokens) with the JwtService it signs with. */
async function build(): Promise<{ service: AccessTokenService; jwt: JwtService }> {
  const moduleRef = await Test.createTestingModule({
    imports: [JwtModule.register({ secret: SECRET, signOptions: { algorithm: 'HS256' } })],
    providers: [
      AccessTokenService,
      { provide: ConfigService, useValue: new ConfigService({ JWT_ACCESS_TTL_MS: 900_000 }) },
    ],
  }).compile();
  return { service: moduleRef.get(AccessTokenService), jwt: moduleRef.get(JwtService) };
}

describe('AccessTokenService', () => {
  let service: AccessTokenService;
  beforeAll(async () => ({ service } = await build()));
  const exp = () => Math.floor(Date.now() / 1000) + 60;

  it('signs a token that verifies to its user and expiry', () => {
    const signedAt = Date.now();
    const { accessToken, expiresIn } = service.sign(USER);
    expect(expiresIn).toBe(900);
    const verified = service.verify(accessToken);
    expect(verified.userId).toBe(USER);
    // exp is in whole seconds: up to 999 ms below signing time + 900 s.
    expect(verified.expiresAt.getTime()).toBeGreaterThan(signedAt + 899_000);
    expect(verified.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 900_000);
  });

  it.each([
    ['empty', ''],
    ['garbage', 'a.b.c'],
    [
      'alg none',
      `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: USER, typ: 'access', exp: 9e9 })).toString('base64url')}.`,
    ],
    [
      'a forged signature',
      craft({ alg: 'HS256' }, { sub: USER, typ: 'access', exp: 9e9 }, 'another-secret-another-secret-another'),
    ],
    ['no typ', craft({ alg: 'HS256' }, { sub: USER, exp: 9e9 })],
    ['a refresh typ', craft({ alg: 'HS256' }, { sub: USER, typ: 'refresh', exp: 9e9 })],
    ['a non-uuid sub', craft({ alg: 'HS256' }, { sub: 'admin', typ: 'access', exp: 9e9 })],
    ['no exp', craft({ alg: 'HS256' }, { sub: USER, typ: 'access' })],
    ['too long', 'x'.repeat(5000)],
  ])('rejects %s with 401', (_case, token) => {
    expect(() => service.verify(token)).toThrow(UnauthorizedException);
  });

  it('says "expired" for an expired token', () => {
    const token = craft(
      { alg: 'HS256', typ: 'JWT' },
      { sub: USER, typ: 'access', exp: Math.floor(Date.now() / 1000) - 5 },
    );
    expect(() => service.verify(token)).toThrow('Access token expired');
  });

  it('accepts a hand-made HS256 token with the right claims', () => {
    expect(service.verify(craft({ alg: 'HS256', typ: 'JWT' }, { sub: USER, typ: 'access', exp: exp() })).userId).toBe(
      USER,
    );
  });

  it('authenticates a request once and remembers the answer', () => {
    const spy = jest.spyOn(service, 'verify');
    const request = { headers: { authorization: `Bearer ${service.sign(USER).accessToken}` } } as IncomingMessage;
    expect(service.authenticateRequest(request)?.userId).toBe(USER);
    expect(service.authenticateRequest(request)?.userId).toBe(USER);
    expect(spy).toHaveBeenCalledTimes(1);
    const anonymous = { headers: {} } as IncomingMessage;
    expect(service.authenticateRequest(anonymous)).toBeUndefined();
    spy.mockRestore();
  });

  it('checks a signature once per token, and a remembered token still expires', async () => {
    const { service: fresh, jwt: itsJwt } = await build();
    const signatureChecks = jest.spyOn(itsJwt, 'verify');
    const expiresAt = Math.floor(Date.now() / 1000) + 2;
    const token = craft({ alg: 'HS256', typ: 'JWT' }, { sub: USER, typ: 'access', exp: expiresAt });
    expect(fresh.verify(token).userId).toBe(USER);
    expect(fresh.verify(token).userId).toBe(USER);
    expect(signatureChecks).toHaveBeenCalledTimes(1);

    const now = jest.spyOn(Date, 'now').mockReturnValue(expiresAt * 1000 + 1);
    expect(() => fresh.verify(token)).toThrow('Access token expired');
    now.mockRestore();
    signatureChecks.mockRestore();
  });

  it('does not remember a token that failed', async () => {
    const { service: fresh } = await build();
    const forged = craft(
      { alg: 'HS256' },
      { sub: USER, typ: 'access', exp: exp() },
      'another-secret-another-secret-another',
    );
    expect(() => fresh.verify(forged)).toThrow(UnauthorizedException);
    expect(() => fresh.verify(forged)).toThrow(UnauthorizedException);
  });
});
