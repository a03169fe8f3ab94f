import { registerUser } from './support/factories';
import { startTestApp, waitForLog, withTestLogLevel, type TestApp } from './support/test-app';
import { connect, refused, wsUrl } from './support/ws-client';

describe('operations: health, metrics, docs, HTTP hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ CORS_ORIGINS: 'https://app.example.com' });
  });
  afterAll(() => t.close());

  it('writes no secret-bearing query parameter to the access log', async () => {
    const secrets = ['s3cret-access', 's3cret-refresh', 's3cret-token', 's3cret-key'];
    const path = `/api/v1/users/me?access_token=${secrets[0]}&refreshToken=${secrets[1]}&TOKEN=${secrets[2]}&api_key=${secrets[3]}&limit=5`;
    const firstLine = t.logs.length;
    expect((await t.http.get(path)).status).toBe(401); // logged at warn, which the test logger keeps
    const lines = t.logs.slice(firstLine).filter((line) => line.msg === 'request completed');
    expect(lines.map((line) => line.req.url)).toEqual([
      '/api/v1/users/me?access_token=[REDACTED]&refreshToken=[REDACTED]&TOKEN=[REDACTED]&api_key=[REDACTED]&limit=5',
    ]);
    const written = JSON.stringify(t.logs.slice(firstLine));
    for (const secret of secrets) expect(written).not.toContain(secret);
  });

  it('names the user on the access line of an authenticated request', async () => {
    const user = await registerUser(t.http);
    const firstLine = t.logs.length;
    // A 404 is logged at warn, which the test logger keeps.
    const res = await t.http.get('/api/v1/conversations/00000000-0000-4000-8000-000000000000', {
      token: user.accessToken,
    });
    expect(res.status).toBe(404);
    const [line] = t.logs.slice(firstLine).filter((l) => l.msg === 'request completed');
    expect(line.req.userId).toBe(user.id);
  });

  it('logs one line per socket: connected and closed (code, duration) at info, refused (code) at warn', async () => {
    const user = await registerUser(t.http);
    await withTestLogLevel('info', async () => {
      const connected = waitForLog((l) => l.msg === 'socket connected' && l.userId === user.id);
      const socket = await connect(t.baseUrl, user.accessToken);
      const { connectionId } = socket.of('connected')[0].data;
      expect(await connected).toMatchObject({ level: 30, userId: user.id, connectionId, hostname: expect.any(String) });

      const closed = waitForLog((l) => l.msg === 'socket closed' && l.connectionId === connectionId);
      socket.ws.close(4000, 'bye');
      const line = await closed;
      expect(line).toMatchObject({ level: 30, userId: user.id, code: 4000 });
      expect(line.durationMs).toBeGreaterThanOrEqual(0);

      const refusal = waitForLog((l) => l.msg === 'socket refused');
      expect((await refused(wsUrl(t.baseUrl, 'not-a-token'))).code).toBe(4401);
      expect(await refusal).toMatchObject({ level: 40, code: 4401, reason: 'unauthorized' });
      expect(JSON.stringify(await refusal)).not.toContain('not-a-token');
    });
    const metrics = (await t.http.get('/metrics')).text;
    expect(metrics).toMatch(/^ws_closes_total\{code="other"\} [1-9]/m); // the client's 4000: not a code of ours
    expect(metrics).toMatch(/^ws_closes_total\{code="4401"\} [1-9]/m);
  });

  it('GET /health reports the database up', async () => {
    const res = await t.http.get('/health');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
  });

  it('GET /health/live answers without dependencies', async () => {
    const res = await t.http.get('/health/live');
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });

  it('health and metrics need no token and are not under /api/v1', async () => {
    expect((await t.http.get('/api/v1/health')).status).toBe(404);
    expect((await t.http.get('/metrics')).status).toBe(200);
  });

  it('GET /metrics serves Prometheus text with process metrics and the HTTP histogram by route template', async () => {
    await t.http.get('/api/v1/users/me');
    const res = await t.http.get('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toContain('process_cpu_user_seconds_total');
    expect(res.text).toContain('nodejs_eventloop_lag_seconds');
    expect(res.text).toMatch(
      /http_request_duration_seconds_bucket\{le="0\.005",method="GET",route="\/api\/v1\/users\/me",status_code="401"\}/,
    );
  });

  it('labels unmatched URLs as one route, so raw paths never explode the label set', async () => {
    await t.http.get('/no/such/path/12345');
    const res = await t.http.get('/metrics');
    expect(res.text).toContain('route="unmatched",status_code="404"');
    expect(res.text).not.toContain('12345');
  });

  it('serves Swagger UI at /docs and the OpenAPI JSON at /docs-json with a bearer scheme', async () => {
    const ui = await t.http.get('/docs');
    expect(ui.status).toBe(200);
    expect(ui.text).toContain('swagger-ui');
    const doc = await t.http.get('/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(doc.body.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const path of [
      '/api/v1/auth/register',
      '/api/v1/auth/login',
      '/api/v1/auth/refresh',
      '/api/v1/auth/logout',
      '/api/v1/users/me',
      '/api/v1/users',
      '/health',
      '/health/live',
      '/metrics',
    ]) {
      expect(Object.keys(doc.body.paths)).toContain(path);
    }
  });

  it('documents every property of every DTO schema', async () => {
    const doc = await t.http.get('/docs-json');
    const schemas = doc.body.components.schemas as Record<string, { properties?: Record<string, unknown> }>;
    for (const name of ['RegisterDto', 'LoginDto', 'RefreshTokenDto', 'AuthResponseDto', 'UserDto', 'UserListDto']) {
      expect(schemas[name]?.properties).toBeDefined();
    }
    expect(Object.keys(schemas.RegisterDto.properties!).sort()).toEqual(['displayName', 'password', 'username']);
    expect(Object.keys(schemas.UserDto.properties!).sort()).toEqual(['createdAt', 'displayName', 'id', 'username']);
    expect(Object.keys(schemas.AuthResponseDto.properties!).sort()).toEqual([
      'accessToken',
      'expiresIn',
      'refreshToken',
      'user',
    ]);
  });

  it('sets helmet headers and hides the framework', async () => {
    const res = await t.http.get('/health/live');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('content-security-policy')).not.toContain('upgrade-insecure-requests');
  });

  it('keeps idle connections open longer than a proxy pools them (no ECONNRESET race)', async () => {
    const res = await t.http.get('/health/live');
    expect(res.headers.get('keep-alive')).toBe('timeout=65');
  });

  it('echoes a sane X-Request-Id and makes one up otherwise', async () => {
    const given = await t.http.get('/health/live', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const invalid = await t.http.get('/health/live', { headers: { 'x-request-id': 'bad id with spaces' } });
    expect(invalid.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('allows the configured CORS origin only', async () => {
    const allowed = await t.http.request('OPTIONS', '/api/v1/users/me', {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET' },
    });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    const simple = await t.http.get('/api/v1/users/me', { headers: { origin: 'https://app.example.com' } });
    expect(simple.headers.get('access-control-expose-headers')?.split(',')).toEqual([
      'Retry-After',
      'X-Request-Id',
      'X-RateLimit-Limit',
      'X-RateLimit-Remaining',
      'X-RateLimit-Reset',
    ]);
    const other = await t.http.request('OPTIONS', '/api/v1/users/me', {
      headers: { origin: 'https://evil.example.com', 'access-control-request-method': 'GET' },
    });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers unknown routes with a JSON 404 in Nest shape', async () => {
    const res = await t.http.get('/api/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('answers a 4xx, not 500, for a path with a malformed percent-encoding', async () => {
    const res = await t.http.get('/api/v1/users/%E0%A4%A');
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
  });
});
