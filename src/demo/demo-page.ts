import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { static as serveStatic, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import helmet from 'helmet';
import { writeHttpError } from '../common/http-error-response';
import { serverOf } from '../common/request-origin';

/** Where the demo chat page is served (DEMO_ENABLED). */
export const DEMO_PATH = '/demo';

/**
 * client/dist/demo of this checkout, as `npm run build:client` writes it: this file is src/demo/
 * under the tests, dist/src/demo/ once compiled.
 */
export const DEMO_BUILD_DIR = join(__dirname, __filename.endsWith('.ts') ? '../..' : '../../..', 'client/dist/demo');

/**
 * The demo page and its files, for app.use(DEMO_PATH, ...): static files of `dir` (no listing;
 * `..` refused by serve-static), `Cache-Control: no-cache` so that a rebuild shows at once (ETag
 * and Last-Modified make the revalidation cheap), and anything else the JSON 404 of every error.
 * `/demo` redirects to `/demo/`, so that the page's relative URLs (`demo.js`) resolve under it.
 * Plain middleware like the API documents: no guard to opt out of (auth, rate limit), no route in
 * the OpenAPI document, no API prefix.
 */
export function demoPage(dir = DEMO_BUILD_DIR): RequestHandler[] {
  const files = serveStatic(dir, {
    index: 'index.html',
    redirect: true,
    dotfiles: 'ignore',
    fallthrough: true,
    cacheControl: false,
    setHeaders: (res) => res.setHeader('Cache-Control', 'no-cache'),
  });
  return [
    demoContentSecurityPolicy(),
    (_req: Request, res: Response, next: NextFunction) => {
      // Looked for at each request: a build made while the server runs is served at once.
      if (existsSync(join(dir, 'index.html'))) return next();
      writeHttpError(res, 404, 'The demo page is not built: run `npm run build:client`');
    },
    files,
    (req: Request, res: Response) => writeHttpError(res, 404, `Cannot ${req.method} ${req.originalUrl.split('?')[0]}`),
  ];
}

/**
 * Helmet's policy of every route (scripts from 'self' only, no inline script), and WebSocket
 * connections to this host and port only: CSP 3's 'self' covers them (Chromium, Firefox); the
 * explicit ws://host wss://host is for WebKit, whose 'self' long matched only http(s). The host
 * is the one serverOf() gives the AsyncAPI document; an IPv6 literal, no valid host-source, gets
 * 'self' alone.
 */
function demoContentSecurityPolicy() {
  const sameHostSockets = (req: IncomingMessage) => {
    const { host } = serverOf(req as Request);
    return host.startsWith('[') ? '' : `ws://${host} wss://${host}`;
  };
  return helmet.contentSecurityPolicy({
    directives: { upgradeInsecureRequests: null, connectSrc: ["'self'", sameHostSockets] },
  });
}
