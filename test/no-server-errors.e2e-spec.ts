import { randomUUID } from 'node:crypto';
import { registerUser, type RegisteredUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';

/**
 * Docs/protocol.md §3: nothing a client sends may produce a 500. Every operation of the
 * OpenAPI document (so every endpoint, present and future) gets junk in its path
 * parameters, query parameters and each body property, with a valid token.
 */
describe('no client input produces a 5xx', () => {
  let t: TestApp;
  let user: RegisteredUser;
  let doc: { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> } };
  beforeAll(async () => {
    t = await startTestApp();
    user = await registerUser(t.http);
    doc = (await t.http.get('/docs-json')).body;
  });
  afterAll(() => t.close());

  interface Operation {
    parameters?: { name: string; in: string }[];
    requestBody?: { content: Record<string, { schema: { $ref?: string } }> };
  }
  interface Schema {
    properties?: Record<string, unknown>;
  }

  const PATH_VALUES = [
    'x',
    '0',
    '-1',
    '1e400',
    '99999999999999999999999',
    randomUUID(),
    'a'.repeat(3000),
    '%00',
    '%FF%FE',
    '..%2F..%2Fetc',
    '%20',
    'null',
  ];
  const JUNK: unknown[] = [
    null,
    true,
    0,
    -1,
    1.5,
    1e308,
    -1e308,
    2 ** 53 + 1,
    '',
    ' ',
    'x',
    'x'.repeat(20_000),
    '\u0000',
    'a\u0000b',
    '\ud800',
    '😀'.repeat(50),
    "' OR 1=1 --",
    '<script>alert(1)</script>',
    [],
    [1, 2],
    ['x'],
    {},
    { $gt: '' },
    randomUUID(),
  ];
  const RAW_BODIES = [
    '',
    'null',
    '[]',
    '"text"',
    '123',
    '1e400',
    '{',
    '{"a":',
    '{"__proto__":{"x":1}}',
    '{"constructor":{"prototype":{}}}',
  ];

  function operations(): [string, string, Operation][] {
    const list: [string, string, Operation][] = [];
    for (const [path, methods] of Object.entries(doc.paths)) {
      for (const [method, operation] of Object.entries(methods)) list.push([method.toUpperCase(), path, operation]);
    }
    return list;
  }

  function bodyProperties(operation: Operation): string[] {
    const ref = operation.requestBody?.content['application/json']?.schema.$ref;
    const schema = ref ? doc.components.schemas[ref.split('/').pop()!] : undefined;
    return Object.keys(schema?.properties ?? {});
  }

  function fill(path: string, value: string): string {
    return path.replace(/\{[^}]+\}/g, value);
  }

  function encode(value: string): string {
    try {
      return encodeURIComponent(value);
    } catch {
      return '%ED%A0%80'; // a lone surrogate: send the raw (invalid UTF-8) bytes
    }
  }

  it('answers every junk request with less than 500', async () => {
    const failures: string[] = [];
    let sent = 0;
    const check = async (method: string, url: string, options: Parameters<typeof t.http.request>[2]) => {
      const res = await t.http.request(method, url, { token: user.accessToken, ...options });
      sent += 1;
      if (res.status >= 500)
        failures.push(`${res.status} ${method} ${url.slice(0, 100)} ${JSON.stringify(options).slice(0, 100)}`);
    };

    expect(operations().length).toBeGreaterThanOrEqual(9);
    for (const [method, path, operation] of operations()) {
      if (path.includes('{')) {
        for (const value of PATH_VALUES)
          await check(method, fill(path, value), ['GET', 'HEAD'].includes(method) ? {} : { body: {} });
      }
      const url = fill(path, randomUUID());
      for (const param of (operation.parameters ?? []).filter((p) => p.in === 'query')) {
        for (const value of [...JUNK.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))), 'a&query=b']) {
          await check(method, `${url}?${param.name}=${encode(value)}`, {});
        }
      }
      if (['POST', 'PUT', 'PATCH'].includes(method)) {
        for (const property of bodyProperties(operation)) {
          for (const value of JUNK) await check(method, url, { body: { [property]: value } });
        }
        for (const raw of RAW_BODIES) await check(method, url, { raw });
      }
    }
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(100);
  });
});
