#!/usr/bin/env node
// `npm start`: compiles with tsc when a source is newer than the build (a fresh
// clone, or after an edit), then runs the server in this very process, so that
// signals reach it directly. A warm start skips the 2 s of a no-op tsc run.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const entry = join(root, 'dist', 'src', 'main.js');
const sources = ['src', 'migrations', 'ormconfig.ts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
const changed = sources
  .map((s) => join(root, s))
  .filter(existsSync)
  .some((s) => newestMtime(s) > built);
if (changed) {
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], {
    stdio: 'inherit',
    cwd: root,
  });
  if (result.status !== 0) process.exit(result.status ?? 1);
  // tsc leaves an unchanged output file untouched; mark the build as current.
  const now = new Date();
  require('node:fs').utimesSync(entry, now, now);
}
require(entry);
