// Nest 12 packages are ESM-only; Jest on Node 20 cannot require() them, so swc
// transpiles them to CommonJS together with our own TypeScript.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  rootDir: '.',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testRegex: '\\.(spec|e2e-spec)\\.ts$',
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
  // A server error line (level error, or a 5xx) fails the test it was written in.
  setupFilesAfterEnv: ['<rootDir>/test/support/no-server-errors.setup.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 20000,
};
