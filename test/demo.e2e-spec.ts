import type { Browser, Page } from 'playwright-core';
import { chromiumMissingReason, launchChromium } from './support/browser';
import { registerUser } from './support/factories';
import { getRaw } from './support/http-client';
import { startTestApp, type TestApp } from './support/test-app';
import { wsUrl } from './support/ws-client';

// The page is client/dist/demo, built once for the run by the global setup (test/support/global-setup.ts).
const PRODUCTION = { NODE_ENV: 'production', JWT_SECRET: 'p'.repeat(40) };
const DEVELOPMENT = { NODE_ENV: 'development' };

const apps: TestApp[] = [];
afterAll(() => Promise.all(apps.map((app) => app.close())));
async function start(env: Record<string, string>): Promise<TestApp> {
  const app = await startTestApp(env);
  apps.push(app);
  return app;
}

/** Helmet's policy of every route, with the socket's host added to connect-src: the page's script only from 'self'. */
function expectDemoPolicy(policy: string | null, host: string): void {
  const directives = Object.fromEntries(
    (policy ?? '').split(';').map((directive) => {
      const [name, ...values] = directive.trim().split(/\s+/);
      return [name, values.join(' ')];
    }),
  );
  expect(directives).toMatchObject({
    'default-src': "'self'",
    'script-src': "'self'",
    'script-src-attr': "'none'",
    'connect-src': `'self' ws://${host} wss://${host}`,
  });
}

describe('demo page: served in development', () => {
  let t: TestApp;
  beforeAll(async () => {
    // RATE_REST_PER_MIN=1: the page is never rate limited, as a REST route would be at the second call.
    t = await start({ ...DEVELOPMENT, RATE_REST_PER_MIN: '1' });
  });

  it('serves /demo as an HTML page whose policy allows WebSocket connections to this host', async () => {
    const redirect = await fetch(`${t.baseUrl}/demo`, { redirect: 'manual' });
    // To /demo/: the page's relative URLs (demo.js, demo.css) resolve under it.
    expect([redirect.status, redirect.headers.get('location')]).toEqual([301, '/demo/']);
    for (const path of ['/demo', '/demo/', '/demo/index.html']) {
      const res = await fetch(`${t.baseUrl}${path}`);
      expect([path, res.status, res.headers.get('content-type'), res.headers.get('cache-control')]).toEqual([
        path,
        200,
        'text/html; charset=utf-8',
        'no-cache',
      ]);
      expect(await res.text()).toMatch(/<script type="module" src="[^"]*demo\.js"/);
      expectDemoPolicy(res.headers.get('content-security-policy'), new URL(t.baseUrl).host);
    }
  });

  it("keeps every other route's headers: helmet's policy, without connect-src", async () => {
    const health = await t.http.get('/health');
    const policy = health.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'self'");
    expect(policy).not.toContain('connect-src');
  });

  it('serves the bundle and its source map, with their types, no token and no rate limit', async () => {
    for (let i = 0; i < 3; i++) {
      const script = await t.http.get('/demo/demo.js');
      expect([script.status, script.headers.get('content-type'), script.headers.get('x-ratelimit-limit')]).toEqual([
        200,
        'text/javascript; charset=utf-8',
        null,
      ]);
      expect(script.text).toMatch(/\/\/# sourceMappingURL=demo\.js\.map\s*$/);
    }
    const map = await t.http.get('/demo/demo.js.map');
    expect([map.status, map.headers.get('content-type'), map.body.version]).toEqual([
      200,
      'application/json; charset=utf-8',
      3,
    ]);
    // The demo's TypeScript is bundled into demo.js, not served.
    expect((await t.http.get('/demo/demo.ts')).status).toBe(404);
  });

  it('answers a missing file with the JSON 404', async () => {
    const res = await t.http.get('/demo/nope.js');
    expect([res.status, res.body]).toEqual([
      404,
      { statusCode: 404, error: 'Not Found', message: 'Cannot GET /demo/nope.js' },
    ]);
  });

  it.each([
    '/demo/../package.json',
    '/demo/%2e%2e/package.json',
    '/demo/%2e%2e/%2e%2e/package.json', // client/package.json
    '/demo/%2e%2e/%2e%2e/%2e%2e/package.json',
    '/demo/..%2f..%2f..%2fpackage.json',
    '/demo/%2E%2E%5C%2E%2E%5Cpackage.json',
    '/demo/../browser/size.json',
    '/demo/..',
  ])('does not serve %s', async (path) => {
    const res = await getRaw(t.baseUrl, path);
    expect([res.status, res.headers.get('content-type')]).toEqual([404, 'application/json; charset=utf-8']);
    expect(JSON.parse(res.text)).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(res.text).not.toMatch(/"(name|minifiedBytes)"/);
  });

  it('is not in the OpenAPI document', async () => {
    const { body } = await t.http.get('/docs-json');
    expect(Object.keys(body.paths).filter((path) => path.includes('demo'))).toEqual([]);
  });
});

describe('demo page: DEMO_ENABLED', () => {
  const DEMO_PATHS = ['/demo', '/demo/', '/demo/demo.js', '/DEMO/index.html'];

  it.each([
    ['DEMO_ENABLED=false', { ...DEVELOPMENT, DEMO_ENABLED: 'false' }],
    ['NODE_ENV=production', PRODUCTION],
  ])('hides the page with %s: the 404 of any unknown path', async (_case, env) => {
    const t = await start(env);
    for (const path of DEMO_PATHS) {
      const res = await t.http.get(path);
      expect([path, res.status, res.body]).toEqual([
        path,
        404,
        { statusCode: 404, error: 'Not Found', message: `Cannot GET ${path}` },
      ]);
    }
  });

  it('serves the page with NODE_ENV=production and DEMO_ENABLED=true', async () => {
    const t = await start({ ...PRODUCTION, DEMO_ENABLED: 'true' });
    const page = await t.http.get('/demo/');
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=utf-8']);
    expect((await t.http.get('/demo/demo.js')).status).toBe(200);
  });
});

// What the functions below use in the page (playwright runs them there): the root tsconfig has no DOM types.
declare const window: { violations: string[]; parsedBody?: string };
declare const document: {
  readyState: string;
  body: { innerHTML: string };
  addEventListener(
    type: string,
    listener: (event: { effectiveDirective: string; blockedURI: string }) => void,
    options?: { once: boolean },
  ): void;
};

const chromiumMissing = chromiumMissingReason();
if (chromiumMissing) console.log(`demo browser test skipped: ${chromiumMissing}`);

(chromiumMissing ? describe.skip : describe)('demo page in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  beforeAll(async () => {
    [t, browser] = await Promise.all([start(DEVELOPMENT), launchChromium()]);
    page = await browser.newPage();
    page.on('console', (message) => {
      const { url } = message.location();
      // The browser asks for /favicon.ico by itself when a page links no icon: not the page's doing.
      if (url.endsWith('/favicon.ico')) return;
      if (message.type() === 'error' || message.type() === 'warning') problems.push(`${message.text()} (${url})`);
    });
    page.on('pageerror', (error) => problems.push(error.message));
    await page.addInitScript(() => {
      window.violations = [];
      document.addEventListener('securitypolicyviolation', (event) =>
        window.violations.push(`${event.effectiveDirective} ${event.blockedURI}`),
      );
      // The document as parsed, before its module scripts run (they run after 'interactive').
      document.addEventListener('readystatechange', () => {
        if (document.readyState === 'interactive') window.parsedBody = document.body.innerHTML;
      });
    });
  });
  afterAll(() => browser?.close());

  it('renders the page: its script loads and runs, with no error and no policy violation', async () => {
    const response = await page.goto(`${t.baseUrl}/demo`, { waitUntil: 'load' });
    expect([response?.status(), page.url()]).toEqual([200, `${t.baseUrl}/demo/`]);
    // The script ran: the sign-in form, hidden in the page as parsed, shows (this tab has no user yet).
    await page.getByTestId('login-submit').waitFor();
    expect(await page.evaluate(() => window.parsedBody)).toMatch(/<section id="auth-view"[^>]*\shidden/);
    expect(await page.evaluate(() => window.violations)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('lets the page open a WebSocket to this host, and to no other', async () => {
    const user = await registerUser(t.http);
    await page.goto(`${t.baseUrl}/demo/`);
    const firstFrameOrViolation = (url: string) =>
      page.evaluate(
        (url) =>
          new Promise<string>((resolve) => {
            document.addEventListener('securitypolicyviolation', (event) => resolve(`refused: ${event.blockedURI}`), {
              once: true,
            });
            const socket = new WebSocket(url);
            socket.onmessage = (message) => {
              resolve(String(JSON.parse(String(message.data)).event));
              socket.close();
            };
          }),
        url,
      );
    expect(await firstFrameOrViolation(wsUrl(t.baseUrl, user.accessToken))).toBe('connected');
    // The same server under another name is another host: refused by the policy, not by the server.
    const otherHost = wsUrl(t.baseUrl.replace('127.0.0.1', 'localhost'), user.accessToken);
    expect(await firstFrameOrViolation(otherHost)).toMatch(new RegExp(`^refused: ${new URL(otherHost).origin}`));
    problems.splice(0); // the refusal is logged on the console, as it should be
  });
});
