/** Runs one program of examples/ through tsx and returns its stdout (exit 0 required). */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export function runExample(name: string): string {
  const r = spawnSync(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', join(ROOT, 'examples', `${name}.ts`)],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 110_000,
    },
  );
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  return r.stdout;
}
