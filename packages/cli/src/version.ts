/**
 * The program's version, defined once: the `version` of the CLI's package.json, read when the
 * module loads. `src/version.ts` and `dist/version.js` both sit one level below the package root,
 * so the same relative path finds the manifest in a checkout and in an installed package (npm
 * always ships package.json).
 */
import { readFileSync } from 'node:fs';

function readVersion(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version?: unknown;
  };
  // version.test.ts holds the manifest to a semver string; a hand-edited install still starts.
  return typeof manifest.version === 'string' ? manifest.version : 'unknown';
}

/**
 * The ratls version (`ratls --version`, `/healthz`, `ratls_build_info`).
 * @example console.log(`ratls ${RATLS_VERSION}`) // ratls 0.1.0
 */
export const RATLS_VERSION: string = readVersion();
