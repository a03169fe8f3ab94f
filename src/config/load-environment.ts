import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment, validateEnvironment } from './environment';

/**
 * Boot-time configuration: reads `.env` if present (real environment wins),
 * validates once, and fills in the development JWT secret kept under DATA_DIR so
 * that tokens survive restarts.
 */
export function loadEnvironment(envFile = '.env'): Environment {
  if (existsSync(envFile)) process.loadEnvFile(envFile);
  const env = validateEnvironment(process.env);
  if (!env.JWT_SECRET) env.JWT_SECRET = developmentJwtSecret(env.DATA_DIR);
  return env;
}

function developmentJwtSecret(dataDir: string): string {
  const file = join(dataDir, 'jwt-secret');
  if (existsSync(file)) {
    const kept = readFileSync(file, 'utf8').trim();
    if (kept.length >= 32) return kept;
  }
  // 0755: the embedded PostgreSQL (another OS user when run as root) lives below it.
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, secret + '\n', { mode: 0o600 });
  return secret;
}
