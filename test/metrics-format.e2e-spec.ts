import { spawnSync } from 'node:child_process';
import { registerUser } from './support/factories';
import { startTestApp, type TestApp } from './support/test-app';
import { connect } from './support/ws-client';

const redisUrl = process.env.PARLEY_TEST_REDIS_URL;
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
// .ci/run installs it (Debian's prometheus package); a laptop without it skips, saying so.
if (!hasPromtool && process.env.PARLEY_REQUIRE_PROMTOOL === '1') {
  throw new Error('promtool is required here (.ci/run installs it) but is not on PATH');
}
if (!hasPromtool) console.log('metrics format test skipped: no promtool on PATH (apt-get install prometheus)');

/** prom-client's default process and Node.js families, whose names are not ours to change. */
const FOREIGN = /^(process_|nodejs_)/;

/** The exposition text restricted to Parley's own families (HELP, TYPE and samples). */
function ownFamilies(text: string): { text: string; names: string[] } {
  const names = new Set<string>();
  const kept = text.split('\n').filter((line) => {
    const name = line.startsWith('#') ? line.split(' ')[2] : line.split(/[{ ]/)[0];
    if (!name || FOREIGN.test(name)) return false;
    names.add(name.replace(/_(bucket|sum|count)$/, ''));
    return true;
  });
  return { text: kept.join('\n') + '\n', names: [...names] };
}

(hasPromtool ? describe : describe.skip)('metrics: the exposition passes promtool', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(redisUrl ? { REDIS_URL: redisUrl } : {});
  });
  afterAll(() => t.close());

  it("reports no problem in the project's own families, and has the operator's gauges", async () => {
    // Something in every family that is labelled by what happened.
    const user = await registerUser(t.http);
    await t.http.get('/api/v1/no-such-route', { token: user.accessToken });
    const socket = await connect(t.baseUrl, user.accessToken);
    socket.ws.close(1000);
    const { text, names } = ownFamilies((await t.http.get('/metrics')).text);

    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect({ status: lint.status, problems: `${lint.stdout}${lint.stderr}`.trim() }).toEqual({
      status: 0,
      problems: '',
    });
    expect(names).toEqual(
      expect.arrayContaining([
        'database_pool_size',
        'database_pool_connections',
        'database_pool_idle',
        'database_pool_waiting',
        'database_available',
        'rate_limited_total',
        'ws_closes_total',
        ...(redisUrl ? ['redis_connected', 'event_bus_publish_failures_total'] : []),
      ]),
    );
    if (redisUrl) expect(text).toMatch(/^redis_connected\{client="commands"\} 1$/m);
  });
});
