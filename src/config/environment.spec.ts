import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, Environment, environmentVariableNames, validateEnvironment } from './environment';

describe('validateEnvironment', () => {
  it('gives every variable its default', () => {
    const env = validateEnvironment({});
    expect(env).toBeInstanceOf(Environment);
    expect(env.PORT).toBe(3000);
    expect(env.MIGRATIONS_RUN).toBe(true);
    expect(env.JWT_ACCESS_TTL_MS).toBe(900_000);
    expect(env.DATABASE_URL).toBeUndefined();
  });

  it('converts numbers and booleans from strings', () => {
    const env = validateEnvironment({ PORT: '8080', MIGRATIONS_RUN: 'false', DATABASE_POOL_SIZE: ' 20 ' });
    expect(env).toMatchObject({ PORT: 8080, MIGRATIONS_RUN: false, DATABASE_POOL_SIZE: 20 });
  });

  it('treats an empty DATABASE_URL as unset', () => {
    expect(validateEnvironment({ DATABASE_URL: '' }).DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '3.5'],
    ['MIGRATIONS_RUN', 'maybe'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'loud'],
    ['DATABASE_URL', 'mysql://x'],
    ['JWT_SECRET', 'short'],
    ['RATE_REST_PER_MIN', '0'],
    ['DOCS_ENABLED', 'maybe'],
    ['DEMO_ENABLED', 'maybe'],
    ['METRICS_PORT', '70000'],
    ['METRICS_TOKEN', 'short'],
    ['DATABASE_CONNECT_TIMEOUT_MS', '10'],
    ['DATABASE_CONNECT_RETRIES', '-1'],
  ])('rejects %s=%s with a message naming it', (name, value) => {
    expect(() => validateEnvironment({ [name]: value })).toThrow(ConfigurationError);
    try {
      validateEnvironment({ [name]: value });
    } catch (error) {
      expect((error as Error).message).toMatch(new RegExp(`^Invalid configuration: ${name}: `));
    }
  });

  it('does not echo a bad METRICS_TOKEN, and wants METRICS_PORT apart from PORT', () => {
    expect(() => validateEnvironment({ METRICS_TOKEN: 'real-scrape-token 2024' })).toThrow(
      /METRICS_TOKEN: METRICS_TOKEN must be 16 to 256 printable ASCII characters, no spaces$/,
    );
    expect(() => validateEnvironment({ PORT: '8080', METRICS_PORT: '8080' })).toThrow(
      /METRICS_PORT: must differ from PORT/,
    );
    expect(validateEnvironment({ PORT: '8080', METRICS_PORT: '9464' }).METRICS_PORT).toBe(9464);
  });

  it('does not echo secrets in its messages', () => {
    expect(() => validateEnvironment({ JWT_SECRET: 'tooshort-secret' })).toThrow(
      /JWT_SECRET: JWT_SECRET must be at least 32 characters$/,
    );
  });

  it('requires JWT_SECRET in production', () => {
    expect(() => validateEnvironment({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET: required/);
    const complete = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://db/parley' };
    expect(validateEnvironment(complete).NODE_ENV).toBe('production');
  });

  it('requires DATABASE_URL in production unless the embedded PostgreSQL is asked for', () => {
    const production = { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) };
    expect(() => validateEnvironment(production)).toThrow(/DATABASE_URL: required when NODE_ENV=production/);
    expect(validateEnvironment({ ...production, EMBEDDED_PG_IN_PRODUCTION: 'true' }).DATABASE_URL).toBeUndefined();
    expect(() => validateEnvironment({ ...production, EMBEDDED_PG_IN_PRODUCTION: 'maybe' })).toThrow(
      /EMBEDDED_PG_IN_PRODUCTION/,
    );
  });

  it('lists every variable in .env.example with its default, and nothing else', () => {
    const example = readFileSync(join(__dirname, '..', '..', '.env.example'), 'utf8');
    const listed = new Map(
      example
        .split('\n')
        .filter((line) => /^[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const defaults = validateEnvironment({}) as unknown as Record<string, unknown>;
    expect([...listed.keys()].sort()).toEqual(environmentVariableNames());
    for (const [name, value] of listed) {
      expect([name, value]).toEqual([name, defaults[name] === undefined ? '' : String(defaults[name])]);
    }
    // Each one is explained by a comment line right above it.
    const lines = example.split('\n');
    for (const name of listed.keys()) {
      const index = lines.findIndex((line) => line.startsWith(`${name}=`));
      expect([name, lines[index - 1].startsWith('#')]).toEqual([name, true]);
    }
  });
});
