import express from 'express';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PATH, demoPage } from './demo-page';

/** A GET with the path sent as written: fetch() would resolve `..` and `%2e%2e` before sending. */
function rawGet(port: number, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** demoPage on a folder of our own (the real build is client/dist/demo: test/demo.e2e-spec.ts). */
describe('demoPage', () => {
  let root: string;
  let dir: string;
  let server: Server;
  let port: number;
  const get = (path: string, headers?: Record<string, string>) => rawGet(port, path, headers);

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'parley-demo-page-'));
    dir = join(root, 'demo');
    // Beside the page, a file it must never serve.
    writeFileSync(join(root, 'secret.json'), '{"secret":true}');
    const app = express();
    app.use(DEMO_PATH, ...demoPage(dir));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  it('answers 404 in JSON, saying how to build it, until the page is built; then serves it at once', async () => {
    for (const path of ['/demo', '/demo/', '/demo/demo.js']) {
      const res = await get(path);
      expect([path, res.status, res.headers['content-type']]).toEqual([path, 404, 'application/json; charset=utf-8']);
      expect(JSON.parse(res.body)).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'The demo page is not built: run `npm run build:client`',
      });
    }
    mkdirSync(join(dir, 'empty'), { recursive: true });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
    writeFileSync(join(dir, 'demo.js'), 'export {};');
    writeFileSync(join(dir, 'demo.js.map'), '{}');
    writeFileSync(join(dir, 'demo.css'), 'body {}');
    writeFileSync(join(dir, '.hidden'), 'x');
    expect((await get('/demo/')).status).toBe(200);
  });

  it('serves each file with its type and Cache-Control: no-cache, and revalidates with its ETag', async () => {
    const types: [string, string][] = [
      ['/demo/', 'text/html; charset=utf-8'],
      ['/demo/index.html', 'text/html; charset=utf-8'],
      ['/demo/demo.js', 'text/javascript; charset=utf-8'],
      ['/demo/demo.js.map', 'application/json; charset=utf-8'],
      ['/demo/demo.css', 'text/css; charset=utf-8'],
    ];
    for (const [path, type] of types) {
      const res = await get(path);
      expect([path, res.status, res.headers['content-type'], res.headers['cache-control']]).toEqual([
        path,
        200,
        type,
        'no-cache',
      ]);
    }
    const first = await get('/demo/demo.js');
    expect((await get('/demo/demo.js', { 'if-none-match': String(first.headers.etag) })).status).toBe(304);
  });

  it('redirects /demo to /demo/, so that the relative URLs of the page resolve under it', async () => {
    const res = await get('/demo?server=x');
    expect([res.status, res.headers.location]).toEqual([301, '/demo/?server=x']);
    // Any folder, as serve-static does; one without index.html is then a 404, never a listing.
    expect((await get('/demo/empty')).headers.location).toBe('/demo/empty/');
  });

  it.each([
    '/demo/nope.js',
    '/demo/empty/', // a folder without index.html: no listing
    '/demo/.hidden',
    '/demo/../secret.json',
    '/demo/%2e%2e/secret.json',
    '/demo/..%2fsecret.json',
    '/demo/%2e%2e%2fsecret.json',
    '/demo/..%5csecret.json',
    '/demo/%2e%2e%5csecret.json',
    '/demo/empty/../../secret.json',
    '/demo//../secret.json',
    '/demo/%00',
  ])('answers %s with the JSON 404', async (path) => {
    const res = await get(path);
    expect([res.status, res.headers['content-type']]).toEqual([404, 'application/json; charset=utf-8']);
    expect(JSON.parse(res.body)).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect(res.body).not.toContain('"secret":true');
  });

  it('serves nothing but GET and HEAD', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/demo/demo.js`, { method: 'POST' });
    expect([res.status, await res.json()]).toEqual([
      404,
      { statusCode: 404, error: 'Not Found', message: 'Cannot POST /demo/demo.js' },
    ]);
    expect((await fetch(`http://127.0.0.1:${port}/demo/demo.js`, { method: 'HEAD' })).status).toBe(200);
  });
});
