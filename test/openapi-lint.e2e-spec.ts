import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, type TestApp } from './support/test-app';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: string; message: string; location?: { pointer?: string }[] }[];
}

/** Issue 12 item 6: /docs-json passes `@redocly/cli lint` (test/support/redocly.yaml) without an error or a warning. */
describe('the OpenAPI document, linted', () => {
  jest.setTimeout(60_000);
  let t: TestApp;
  let dir: string;
  beforeAll(async () => {
    t = await startTestApp();
    dir = mkdtempSync(join(tmpdir(), 'parley-openapi-lint-'));
  });
  afterAll(async () => {
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('has no errors and no warnings', async () => {
    const served = await t.http.get('/docs-json');
    expect(served.status).toBe(200);
    const file = join(dir, 'openapi.json');
    writeFileSync(file, served.text);
    // Offline and quiet: no telemetry, no update check (both would reach the network).
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', CI: 'true' };
    const cli = join(ROOT, 'node_modules/@redocly/cli/bin/cli.js');
    const args = [cli, 'lint', file, '--config', join(ROOT, 'test/support/redocly.yaml'), '--format=json'];
    // A failed lint exits 1 with its report on stdout all the same.
    const { stdout } = await run(process.execPath, args, { env, cwd: dir, maxBuffer: 16 * 1024 * 1024 }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }),
    );
    const report = JSON.parse(stdout) as LintReport;
    const problems = report.problems.map(
      (p) => `${p.severity} ${p.ruleId} at ${p.location?.[0]?.pointer}: ${p.message}`,
    );
    expect(problems).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  });
});
