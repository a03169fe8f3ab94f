// Whether client/dist (the SDK package, its browser bundle, the demo page at /demo) is older than
// its sources, and building it: shared by `npm start` (scripts/start.js) and the tests' global setup.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, readdirSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..', '..');
const CLIENT_INPUTS = ['src', 'demo', 'scripts', 'package.json', 'tsconfig.json'].map((p) => join(root, 'client', p));
/** Written last by client/scripts/build.mjs, dated when the build read its inputs. */
const CLIENT_BUILD_MARKER = join(root, 'client', 'dist', '.built');

/** The newest modification under path: a file's, or a folder's (an added or deleted file) or its contents'. */
function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return readdirSync(path).reduce((newest, name) => Math.max(newest, newestMtime(join(path, name))), stat.mtimeMs);
}

/** No complete build, or an input changed since the last one. */
function clientBuildIsStale() {
  if (!existsSync(CLIENT_BUILD_MARKER)) return true;
  const built = statSync(CLIENT_BUILD_MARKER).mtimeMs;
  return CLIENT_INPUTS.filter(existsSync).some((input) => newestMtime(input) > built);
}

/**
 * Runs client/scripts/build.mjs; returns its exit status. `quiet` (a server start, whose output
 * is JSON log lines only): its output only when it fails, on stderr.
 */
function buildClient({ quiet = false } = {}) {
  const result = spawnSync(process.execPath, [join(root, 'client', 'scripts', 'build.mjs')], {
    stdio: quiet ? 'pipe' : 'inherit',
    encoding: 'utf8',
    cwd: root,
  });
  if (quiet && result.status !== 0) process.stderr.write(`${result.stdout}${result.stderr}`);
  return result.status ?? 1;
}

module.exports = { CLIENT_BUILD_MARKER, newestMtime, clientBuildIsStale, buildClient };
