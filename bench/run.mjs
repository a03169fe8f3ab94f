#!/usr/bin/env node
// npm run bench [-- --scenarios=latency-rest,latency-ws,cluster-rest,cluster-ws,throughput,fanout,connections,sync,sdk-receive
//                   --seconds=30 --rate=1000 --target=URL [--peer=URL] --references=no]
// Starts Parley (embedded PostgreSQL in a temp folder, or DATABASE_URL) unless --target is given;
// the cluster scenarios start two instances on one PostgreSQL and Redis (REDIS_URL, or the local
// one; skipped with the reason when none answers). Runs the scenarios, then the same load against
// the two reference servers, prints a table and writes bench/results/<time>.json.
import { spawn, execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parley } from './lib/client.mjs';
import { cpuSampler, round, rssMiB } from './lib/stats.mjs';
import { connections } from './scenarios/connections.mjs';
import { fanout } from './scenarios/fanout.mjs';
import { latency } from './scenarios/latency.mjs';
import { sdkReceive } from './scenarios/sdk-receive.mjs';
import { sync } from './scenarios/sync.mjs';
import { throughput } from './scenarios/throughput.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const seconds = Number(args.seconds ?? 30);
const rate = Number(args.rate ?? 1000);
const wanted = (
  args.scenarios ?? 'latency-rest,latency-ws,cluster-rest,cluster-ws,throughput,fanout,connections,sync,sdk-receive'
).split(',');

let built = false;
/** Compiles once per run: the bench measures what is in src/ now (and client/, for sdk-receive). */
function build() {
  if (built) return;
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
    { stdio: 'inherit' },
  );
  const client = createRequire(import.meta.url)('../scripts/lib/client-build.js');
  if (client.clientBuildIsStale() && client.buildClient() !== 0) throw new Error('the client build failed');
  built = true;
}

/** Resolves once `url` answers /health; rejects if `child` exits first or after a minute. */
async function waitHealthy(url, child) {
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${url}: the server exited while starting`);
    const ok = await fetch(`${url}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not become healthy`);
}

/** SIGTERM (Parley stops its embedded PostgreSQL on it), and the exit. */
async function stopChild(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/**
 * Spawns `start(port)` on a free port and waits until it serves; tries again on another
 * port if it exits first (a port taken between the probe and its listen: the connections
 * scenario leaves thousands of local ports in use). `stop` ends it with SIGTERM, then
 * runs `cleanup`, which also runs if it never served.
 */
async function served(start, cleanup) {
  build();
  const { freePort } = (await import(join(root, 'dist/src/common/free-port.js'))).default;
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = start(port);
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(url, child);
    } catch (error) {
      await stopChild(child);
      if (attempt < 3) continue;
      await cleanup();
      throw error;
    }
    return {
      url,
      pids: [child.pid],
      stop: async () => {
        await stopChild(child);
        await cleanup();
      },
    };
  }
}

/** One Parley process with the bench's settings; embedded PostgreSQL unless `env` names a DATABASE_URL. */
async function spawnParley(env = {}) {
  build();
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  execFileSync('chmod', ['755', dataDir]);
  const start = (port) =>
    spawn(process.execPath, [join(root, 'dist/src/main.js')], {
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
        ...env,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
  return served(start, () => rmSync(dataDir, { recursive: true, force: true }));
}

/** An embedded PostgreSQL of the bench's own, in a temp folder. */
async function startDatabase(name) {
  build();
  const dataDir = mkdtempSync(join(tmpdir(), `parley-bench-${name}-`));
  execFileSync('chmod', ['755', dataDir]);
  const { EmbeddedDatabase } = (await import(join(root, 'dist/src/database/embedded-postgres.js'))).default;
  const database = new EmbeddedDatabase({ dataDir, port: 0, database: name, log: () => undefined });
  const url = await database.start();
  return {
    url,
    stop: async () => {
      await database.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function redisAnswers(url) {
  const { Redis } = await import('ioredis');
  const client = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

/**
 * Two Parley instances sharing one PostgreSQL (DATABASE_URL, or an embedded one of the
 * bench's) and one Redis (REDIS_URL, or the local one), as behind a load balancer.
 */
async function startCluster() {
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (!(await redisAnswers(redisUrl))) return { skipped: `no Redis answers at ${redisUrl}` };
  const database = process.env.DATABASE_URL ? undefined : await startDatabase('cluster');
  const shared = {
    DATABASE_URL: process.env.DATABASE_URL || database.url,
    REDIS_URL: redisUrl,
    JWT_SECRET: randomBytes(32).toString('hex'), // tokens from one instance work on the other
  };
  let first;
  let second;
  try {
    first = await spawnParley(shared); // runs the migrations before the second starts
    second = await spawnParley(shared);
  } catch (error) {
    await first?.stop();
    await database?.stop();
    throw error;
  }
  return {
    url: first.url,
    peerUrl: second.url,
    pids: [...first.pids, ...second.pids],
    stop: async () => {
      await Promise.all([first.stop(), second.stop()]);
      await database?.stop();
    },
  };
}

/** A reference server (see bench/references): relay, or pgws on its own embedded PostgreSQL. */
async function startReference(kind) {
  const database = kind === 'pgws' ? await startDatabase('reference') : undefined;
  const start = (port) =>
    spawn(
      process.execPath,
      [join(root, 'bench/references/reference-server.mjs'), kind, String(port), database?.url ?? ''],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
  return served(start, () => database?.stop());
}

const SCENARIOS_OF = {
  parley: ['latency-rest', 'latency-ws', 'throughput', 'fanout', 'connections', 'sync', 'sdk-receive'],
  cluster: ['cluster-rest', 'cluster-ws'],
  relay: ['latency-rest', 'latency-ws', 'throughput'],
  pgws: ['latency-rest', 'latency-ws', 'throughput'],
};
const targets = ['parley', 'cluster', ...(args.references === 'no' || args.target ? [] : ['relay', 'pgws'])];
const results = [];
const skipped = [];

async function startTarget(target) {
  if (target === 'relay' || target === 'pgws') return startReference(target);
  const external = (url) => ({ url, pids: [], stop: async () => undefined });
  if (target === 'parley') return args.target ? external(args.target) : spawnParley();
  if (args.target) {
    if (!args.peer) return { skipped: 'give --peer=URL (a second instance behind the same Redis) with --target' };
    return { ...external(args.target), peerUrl: args.peer };
  }
  return startCluster();
}

const sumOf = (samplers) => () =>
  samplers.length ? samplers.map((sample) => sample()).reduce((sum, value) => sum + value, 0) : null;

for (const target of targets) {
  const scenarios = wanted.filter((name) => SCENARIOS_OF[target].includes(name));
  if (!scenarios.length) continue;
  const server = await startTarget(target).catch((error) => ({ skipped: `failed to start: ${error.message}` }));
  if (server.skipped) {
    skipped.push({ target, scenarios, reason: server.skipped });
    console.log(`skipped ${scenarios.join(', ')}: ${server.skipped}`);
    continue;
  }
  const parley = new Parley(server.url);
  const peer = server.peerUrl ? new Parley(server.peerUrl) : undefined;
  const run = async (name, fn) => {
    if (!scenarios.includes(name)) return;
    // CPU is read over the load itself (a scenario calls begin/end around it), not its setup:
    // registering users is argon2 work that would swamp the figure.
    const cpu = {};
    let readers;
    const load = {
      begin: () => (readers = { server: sumOf(server.pids.map(cpuSampler)), loadgen: cpuSampler(process.pid) }),
      end: () => {
        cpu.serverCpuPct = readers.server(); // summed over the instances of a cluster
        cpu.loadgenCpuPct = readers.loadgen();
      },
    };
    const result = { target, ...(await fn(load)), ...cpu };
    const perSecond = result.persistedPerSec ?? result.achievedRate;
    if (perSecond && result.serverCpuPct != null)
      result.serverCpuMsPerMessage = round((result.serverCpuPct * 10) / perSecond);
    if (server.pids.length) result.serverRssMiB ??= round(server.pids.map(rssMiB).reduce((a, b) => a + b, 0));
    results.push(result);
    console.log(JSON.stringify(result));
  };
  try {
    await run('latency-rest', (load) => latency(parley, { via: 'rest', rate, seconds }, load));
    await run('latency-ws', (load) => latency(parley, { via: 'ws', rate, seconds }, load));
    await run('cluster-rest', (load) => latency(parley, { via: 'rest', rate, seconds, peer }, load));
    await run('cluster-ws', (load) => latency(parley, { via: 'ws', rate, seconds, peer }, load));
    await run('throughput', (load) => throughput(parley, { seconds: Math.min(seconds, 15) }, load));
    await run('fanout', (load) => fanout(parley, { members: Number(args.members ?? 1000) }, load));
    await run('sync', (load) => sync(parley, { changes: Number(args.changes ?? 10_000) }, load));
    await run('sdk-receive', (load) => sdkReceive(parley, { messages: Number(args.messages ?? 20_000), rate }, load));
    await run('connections', (load) =>
      connections(parley, { count: Number(args.sockets ?? 15_000), serverPid: server.pids[0] }, load),
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
    // A cluster run is the latency scenario spread over two instances: compared with the same load on one reference.
    const scenario = result.scenario.replace(/^cluster-/, 'latency-');
    const other = results.find((r) => r.target === reference && r.scenario === scenario);
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
  const mine = r.target === 'parley' || r.target === 'cluster';
  const label = `${r.scenario}${mine ? '' : ` [${r.target}]`}`;
  console.log(`${label.padEnd(24)}| ${JSON.stringify(figures)}${mine ? ratios(r) : ''}`);
}
for (const s of skipped) console.log(`${s.scenarios.join(', ').padEnd(24)}| skipped: ${s.reason}`);
console.log(
  `\nmachine: ${machine.cores} cores (${machine.cpu}), ${machine.memoryGiB} GiB, load ${machine.loadavg.map((l) => l.toFixed(2)).join(' ')}; the load generator runs on the same cores (its CPU is in loadgenCpuPct).`,
);
mkdirSync(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(file, JSON.stringify({ machine, seconds, rate, results, skipped }, null, 2));
console.log(`written: ${file}`);
