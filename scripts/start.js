#!/usr/bin/env node
// `npm start`: compiles with tsc when a source is newer than the build (a fresh
// clone, or after an edit), and builds the client (client/dist: the SDK and the demo page
// at /demo) when one of its sources is newer than its build, then runs the server in this
// very process, so that signals reach it directly (the npm scripts `exec` it). A warm start
// skips the 2 s of a no-op tsc run, and the client build's 2 s.
// `npm run start:prod` (--no-build): runs the build as it is, never compiles; an
// install without dev dependencies has no TypeScript to compile with.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');
const { buildClient, clientBuildIsStale, newestMtime } = require('./lib/client-build');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'src', 'main.js');
const sources = ['src', 'migrations', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

const noBuild = process.argv.includes('--no-build');
const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
// Compiling needs the dev dependencies (an install with --omit=dev may still hold TypeScript,
// a peer of @nestjs/swagger, but not the types it compiles against).
const { devDependencies } = require(join(root, 'package.json'));
const devInstalled = Object.keys(devDependencies).every((name) => existsSync(join(root, 'node_modules', name)));
const typescript = devInstalled ? require.resolve('typescript/bin/tsc') : undefined;
if (!built && (noBuild || !typescript)) {
  // One line, in the server's JSON log format, so that log pipelines see it too.
  const why = noBuild ? 'start:prod runs the build as it is' : 'the dev dependencies are not installed (--omit=dev)';
  console.error(
    JSON.stringify({
      level: 60,
      time: new Date().toISOString(),
      service: 'parley',
      msg: `no build at dist/src/main.js: ${why}; run \`npm ci && npm run build\` first (see README, Production)`,
    }),
  );
  process.exit(1);
}
const changed =
  !noBuild &&
  !!typescript &&
  sources
    .map((s) => join(root, s))
    .filter(existsSync)
    .some((s) => newestMtime(s) > built);
if (changed) {
  const result = spawnSync(process.execPath, [typescript, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
    cwd: root,
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // tsc leaves an unchanged output file untouched; mark the build as current.
  const now = new Date();
  require('node:fs').utimesSync(entry, now, now);
}
// Like the server's compile: silent when it succeeds (stdout is the server's JSON log lines), and a
// client that does not build stops the start, with its messages.
if (!noBuild && typescript && clientBuildIsStale()) {
  const status = buildClient({ quiet: true });
  if (status !== 0) process.exit(status);
}
require(entry);
