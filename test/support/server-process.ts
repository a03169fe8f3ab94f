import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { freePort } from '../../src/common/free-port';
import { recordServerLogLine } from './server-errors';

const ROOT = join(__dirname, '..', '..');

export interface ServerProcess {
  child: ChildProcess;
  port: number;
  output: () => string;
  /** Resolves when the output (so far or later) matches. */
  waitForOutput: (pattern: RegExp) => Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** `npm start`'s own entry (compiles when needed), or `script`'s, with only the given variables beyond PATH/HOME. */
export async function spawnServer(
  env: Record<string, string>,
  options: { script?: string[]; expectFatal?: boolean } = {},
): Promise<ServerProcess> {
  const port = Number(env.PORT ?? (await freePort()));
  let output = '';
  const child = spawn(process.execPath, options.script ?? [join(ROOT, 'scripts', 'start.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/tmp',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ...env,
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const watchers: { pattern: RegExp; resolve: () => void }[] = [];
  let partial = '';
  const onOutput = (chunk: Buffer) => {
    output += chunk;
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    // A start that must fail writes a fatal line on purpose: the test reads it instead.
    if (!options.expectFatal) for (const line of lines) recordServerLogLine(`server process :${port}`, line);
    for (const watcher of [...watchers]) {
      if (watcher.pattern.test(output)) watchers.splice(watchers.indexOf(watcher), 1) && watcher.resolve();
    }
  };
  child.stdout!.on('data', onOutput);
  child.stderr!.on('data', onOutput);
  const exited = once(child, 'exit').then(
    ([code, signal]) => ({ code, signal }) as { code: number | null; signal: NodeJS.Signals | null },
  );
  const waitForOutput = (pattern: RegExp) =>
    pattern.test(output) ? Promise.resolve() : new Promise<void>((resolve) => watchers.push({ pattern, resolve }));
  return { child, port, output: () => output, waitForOutput, exited };
}

/** Polls /health until 200 (the server gives no other signal of readiness), or the process exits. */
export async function waitHealthy(server: ServerProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  while (Date.now() < deadline && !exited) {
    const ok = await fetch(`http://127.0.0.1:${server.port}/health`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not healthy (exited: ${exited}); output:\n${server.output()}`);
}
