import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// @parley/client as it would be published: what `npm pack` puts in the tarball, and that Node loads
// it as ESM (client/dist is built by the global setup, test/support/global-setup.ts).
const CLIENT = join(__dirname, '..', 'client');

describe('@parley/client, packed', () => {
  const manifest = JSON.parse(readFileSync(join(CLIENT, 'package.json'), 'utf8')) as {
    type: string;
    exports: Record<string, { types: string; import: string } | string>;
  };

  it('is ESM, and every export points at a built file with its declarations', () => {
    expect(manifest.type).toBe('module');
    for (const [entry, target] of Object.entries(manifest.exports)) {
      if (typeof target === 'string') continue;
      expect([entry, existsSync(join(CLIENT, target.import))]).toEqual([entry, true]);
      expect([entry, existsSync(join(CLIENT, target.types))]).toEqual([entry, true]);
    }
  });

  it('packs the package, its declarations and the browser bundle, and no sources or tests', () => {
    const [pack] = JSON.parse(
      execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: CLIENT, encoding: 'utf8' }),
    ) as [{ files: { path: string }[] }];
    const files = pack.files.map((f) => f.path);
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'README.md',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/node.js',
        'dist/node.d.ts',
        'dist/protocol.d.ts',
        'dist/browser/parley-client.js',
      ]),
    );
    expect(files.filter((f) => /^(src|test|demo|scripts)\/|\.spec\.|^dist\/demo\//.test(f))).toEqual([]);
  });

  it('loads in Node as ESM, with both entries', () => {
    const script = `
      const sdk = await import(${JSON.stringify(join(CLIENT, 'dist', 'index.js'))});
      const node = await import(${JSON.stringify(join(CLIENT, 'dist', 'node.js'))});
      console.log(JSON.stringify([typeof sdk.ParleyClient.create, typeof sdk.IndexedDbStorage, typeof node.FileStorage.open, sdk.CLOSE_CODES.unauthorized]));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['function', 'function', 'function', 4401]);
  });
});
