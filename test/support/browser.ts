import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (.ci/run installs it): playwright-core downloads no browser of its own. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Why the browser tests cannot run here, or undefined when they can: a suite skips with
 * `(reason ? describe.skip : describe)` after printing it. With PARLEY_REQUIRE_CHROMIUM=1 (CI) a
 * missing Chromium throws instead, so that a broken install cannot pass as skipped tests.
 */
export function chromiumMissingReason(): string | undefined {
  if (existsSync(CHROMIUM_PATH)) return undefined;
  const reason = `${CHROMIUM_PATH} is missing (apt-get install chromium; .ci/run installs it)`;
  if (process.env.PARLEY_REQUIRE_CHROMIUM === '1') throw new Error(`Chromium is required here: ${reason}`);
  return reason;
}

/**
 * Chromium, headless, on a fresh profile each launch: playwright's launch() makes a temporary
 * user-data-dir (playwright_chromiumdev_profile-*) and removes it on close (it refuses a
 * --user-data-dir argument: a kept profile is launchPersistentContext's). Close it in afterAll.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox', // the tests run as root, where Chromium's sandbox refuses to start
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
