/**
 * Tests only: Debian's Chromium through playwright-core (a devDependency; never a downloaded
 * browser). Not exported from the package.
 */
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/**
 * Why a browser test skips, or false: outside CI only, and only when Chromium is absent.
 * @example describe('page', { skip: chromiumSkip() }, () => { … })
 */
export function chromiumSkip(): string | false {
  return !existsSync(CHROMIUM) && !process.env.CI
    ? `needs ${CHROMIUM} (apt-get install chromium; CI installs it)`
    : false;
}

/**
 * Chromium as root needs --no-sandbox (its sandbox refuses to run as uid 0).
 * @example const browser = await launchChromium();
 */
export function launchChromium(): Promise<Browser> {
  const root = process.getuid?.() === 0;
  return chromium.launch({ executablePath: CHROMIUM, args: root ? ['--no-sandbox'] : [] });
}
