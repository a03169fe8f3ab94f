#!/usr/bin/env node
// `npm run build:client`: everything under client/dist, from a clean folder.
// - tsc -p client/tsconfig.json: the package's ESM and .d.ts (dist/*.js, dist/*.d.ts);
// - esbuild: dist/browser/parley-client.js, the SDK in one minified ES module for browsers
//   (its size, minified and gzipped, printed and written to dist/browser/size.json);
// - esbuild: dist/demo/demo.js (demo/demo.ts with the SDK bundled in), and every other file of
//   demo/ copied beside it: what the server serves at /demo (DEMO_ENABLED).
// Exits 1 with tsc's or esbuild's messages when either fails. Written last, dist/.built marks a
// complete build: `npm start` and the tests rebuild when an input is newer (scripts/lib/client-build.js).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const client = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(client, 'dist');
const require = createRequire(import.meta.url);

/** The demo's sources: bundled into demo.js rather than copied (and so never served). */
const notCopied = (name) => /\.[cm]?tsx?$/.test(name) || /^tsconfig.*\.json$/.test(name) || name.startsWith('.');

function fail(step) {
  console.error(`client: ${step} failed (messages above)`);
  process.exit(1);
}

function kB(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

const started = Date.now();
for (const entry of ['src/index.ts', 'demo/demo.ts', 'demo/index.html']) {
  if (!existsSync(join(client, entry))) {
    console.error(`client: client/${entry} is missing`);
    process.exit(1);
  }
}
// An input edited from now on is newer than the marker: the next start builds again.
const inputsAsOf = new Date();

// Clean: no output of a deleted source stays behind (in the package or at /demo).
rmSync(dist, { recursive: true, force: true });

const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(client, 'tsconfig.json')], {
  stdio: 'inherit',
});
if (tsc.status !== 0) fail('tsc -p client/tsconfig.json');

const browserBundle = join(dist, 'browser', 'parley-client.js');
const shared = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
};
try {
  await build({ ...shared, entryPoints: [join(client, 'src', 'index.ts')], outfile: browserBundle });
  await build({ ...shared, entryPoints: [join(client, 'demo', 'demo.ts')], outfile: join(dist, 'demo', 'demo.js') });
} catch {
  fail('esbuild'); // esbuild has printed its errors (logLevel)
}
cpSync(join(client, 'demo'), join(dist, 'demo'), { recursive: true, filter: (path) => !notCopied(basename(path)) });

const bundle = readFileSync(browserBundle);
const size = { minifiedBytes: bundle.length, gzipBytes: gzipSync(bundle, { level: 9 }).length };
writeFileSync(join(dist, 'browser', 'size.json'), `${JSON.stringify(size, null, 2)}\n`);
console.log(
  `client: dist/browser/parley-client.js ${kB(size.minifiedBytes)} minified, ${kB(size.gzipBytes)} minified+gzipped` +
    ` (${size.minifiedBytes} / ${size.gzipBytes} bytes); built in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);

const marker = join(dist, '.built');
writeFileSync(marker, `${new Date().toISOString()}\n`);
utimesSync(marker, inputsAsOf, inputsAsOf);
