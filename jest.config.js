// Nest 12 packages are ESM-only; Jest on Node 20 cannot require() them, so swc
// transpiles them to CommonJS together with our own TypeScript.
const shared = {
  testEnvironment: 'node',
  rootDir: '.',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.[mc]?[tj]s$': [
      '@swc/jest',
      {
        module: { type: 'commonjs' },
        jsc: {
          target: 'es2022',
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
        },
      },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs)/)'],
  // Decorators read metadata as soon as a module loads, whichever a test imports first.
  setupFiles: ['reflect-metadata'],
  // The client (client/) is ESM and imports './x.js' for './x.ts', as Node and browsers resolve it.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/**
 * Tiers (see docs/architecture.md):
 * - unit: `src/**\/*.spec.ts`, fakes only, no database (`npm run test:unit`);
 * - client: `client/test/*.spec.ts`, the SDK against fakes (`npm run test:client`);
 * - db: `test/`, on a real PostgreSQL made fresh for the run: `test/medium/` runs services and
 *   repositories without HTTP (`npm run test:medium`), the rest a listening app (`npm run test:e2e`).
 * @type {import('jest').Config}
 */
module.exports = {
  // A global option: inside a project Jest ignores it (and would use its 5 s default).
  testTimeout: 20000,
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testRegex: '\\.spec\\.ts$' },
    // @parley/client: fakes only (a scripted fake server, fake timers), no database.
    { ...shared, displayName: 'client', roots: ['<rootDir>/client/test'], testRegex: '\\.spec\\.ts$' },
    {
      ...shared,
      displayName: 'db',
      roots: ['<rootDir>/test'],
      testRegex: '\\.(e2e|medium)-spec\\.ts$',
      // A server error line (level error, or a 5xx other than 503) fails the test it was written in.
      setupFilesAfterEnv: ['<rootDir>/test/support/no-server-errors.setup.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
