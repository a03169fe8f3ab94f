#!/usr/bin/env node
// npm run bench [-- --scenarios=latency-rest,latency-ws,throughput,fanout,connections --seconds=30 --rate=1000 --target=URL]
// Starts Parley (embedded PostgreSQL in a temp folder, or DATABASE_URL) unless --target is given,
// runs the scenarios, prints a table and writes bench/results/<time>.json.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parley } from './lib/client.mjs';
import { cpuSampler, rssMiB } from './lib/stats.mjs';
import { connections } from './scenarios/connections.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { latency } from './scenarios/latency.mjs';
import { throughput } from './scenarios/throughput.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const seconds = Number(args.seconds ?? 30);
const rate = Number(args.rate ?? 1000);
const wanted = (args.scenarios ?? 'latency-rest,latency-ws,throughput,fanout,connections').split(',');

async function startServer() {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  execFileSync('chmod', ['755', dataDir]);
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(process.execPath, [join(root, 'dist/src/main.js')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'development',
      // The bench measures the engine, not the abuse limits.
      RATE_REGISTER_PER_MIN: '100000000',
      RATE_REST_PER_MIN: '100000000',
      RATE_SEND_PER_SEC: '100000000',
      RATE_WS_PER_SEC: '100000000',
      MAX_CONNECTIONS_PER_USER: '1000', // the connections scenario spreads its sockets over users
      DATABASE_POOL_SIZE: process.env.DATABASE_POOL_SIZE ?? '20',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (
      await fetch(`${url}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A reference server (see bench/references): relay, or pgws on its own embedded PostgreSQL. */
async function startReference(kind) {
  let database;
  let dataDir;
  let url;
  if (kind === 'pgws') {
    dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-ref-'));
    execFileSync('chmod', ['755', dataDir]);
    const { EmbeddedDatabase } = (await import(join(root, 'dist/src/database/embedded-postgres.js'))).default;
    database = new EmbeddedDatabase({ dataDir, port: 0, database: 'reference', log: () => undefined });
    url = await database.start();
  }
  const port = 30_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [join(root, 'bench/references/reference-server.mjs'), kind, String(port), url ?? ''],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    if (
      await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: base,
    pid: child.pid,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
      await database?.stop();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const REFERENCE_SCENARIOS = ['latency-rest', 'latency-ws', 'throughput'];
const targets = ['parley', ...(args.references === 'no' || args.target ? [] : ['relay', 'pgws'])];
const results = [];

for (const target of targets) {
  const scenarios = wanted.filter((name) => target === 'parley' || REFERENCE_SCENARIOS.includes(name));
  if (!scenarios.length) continue;
  const server =
    target !== 'parley'
      ? await startReference(target)
      : args.target
        ? { url: args.target, pid: undefined, stop: async () => undefined }
        : await startServer();
  const parley = new Parley(server.url);
  const run = async (name, fn) => {
    if (!scenarios.includes(name)) return;
    const serverCpu = server.pid ? cpuSampler(server.pid) : () => null;
    const loadgenCpu = cpuSampler(process.pid);
    const result = { target, ...(await fn()) };
    result.serverCpuPct = serverCpu();
    result.loadgenCpuPct = loadgenCpu();
    if (server.pid) result.serverRssMiB ??= rssMiB(server.pid);
    results.push(result);
    console.log(JSON.stringify(result));
  };
  try {
    await run('latency-rest', () => latency(parley, { via: 'rest', rate, seconds }));
    await run('latency-ws', () => latency(parley, { via: 'ws', rate, seconds }));
    await run('throughput', () => throughput(parley, { seconds: Math.min(seconds, 15) }));
    await run('fanout', () => fanout(parley, { members: Number(args.members ?? 1000) }));
    await run('connections', () =>
      connections(parley, { count: Number(args.sockets ?? 15_000), serverPid: server.pid }),
    );
  } finally {
    await server.stop();
  }
}

/** Parley's figure over a reference's, for the headline metric of a scenario. */
function ratios(result) {
  const headline = (r) => (r.scenario === 'throughput' ? r.persistedPerSec : r.latencyMs?.p50);
  const parts = [];
  for (const reference of ['relay', 'pgws']) {
    const other = results.find((r) => r.target === reference && r.scenario === result.scenario);
    if (other && headline(other)) parts.push(`${(headline(result) / headline(other)).toFixed(2)}x ${reference}`);
  }
  return parts.length ? ` (${result.scenario === 'throughput' ? 'msgs/s' : 'p50'}: ${parts.join(', ')})` : '';
}

const machine = {
  cores: cpus().length,
  cpu: cpus()[0]?.model,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  loadavg: loadavg(),
  node: process.version,
};
console.log('\nscenario                | figures (ratios: Parley / reference)');
console.log('------------------------|--------------------------------------------------------------');
for (const r of results) {
  const figures = { ...r };
  delete figures.scenario;
  delete figures.target;
  const label = `${r.scenario}${r.target === 'parley' ? '' : ` [${r.target}]`}`;
  console.log(`${label.padEnd(24)}| ${JSON.stringify(figures)}${r.target === 'parley' ? ratios(r) : ''}`);
}
console.log(
  `\nmachine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, load ${machine.loadavg.map((l) => l.toFixed(2)).join(' ')}; the load generator runs on the same cores (its CPU is in loadgenCpuPct).`,
);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ machine, seconds, rate, results }, null, 2));
console.log(`written: ${file}`);
