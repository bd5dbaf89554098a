/**
 * The single-file CLI (npm run bundle): built into a temporary folder, copied alone into another
 * with no node_modules anywhere above it, it answers --help and runs the whole demo.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'ratls-bundle-'));
after(() => rmSync(work, { recursive: true, force: true }));

function noNodeModulesAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) return false;
    if (dirname(d) === d) return true;
  }
}

test('npm run bundle: dist/ratls.cjs runs --help and demo from a folder with no node_modules', () => {
  const built = join(work, 'build', 'ratls.cjs');
  const b = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), built], { encoding: 'utf8' });
  assert.equal(b.status, 0, b.stderr);
  const run = join(work, 'run');
  spawnSync('mkdir', [run]);
  copyFileSync(built, join(run, 'ratls.cjs'));
  assert.ok(noNodeModulesAbove(run), `${run} has a node_modules above it; the test would prove nothing`);
  // A clean environment: no NODE_OPTIONS (tsx) or NODE_PATH from the test runner.
  const env = { PATH: process.env.PATH ?? '', HOME: run };
  const help = spawnSync(process.execPath, ['ratls.cjs', '--help'], { cwd: run, env, encoding: 'utf8' });
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: ratls/);
  assert.match(help.stdout, /gateway/);
  assert.match(help.stdout, /init/);
  const demo = spawnSync(process.execPath, ['ratls.cjs', 'demo', '--port', '0', '--admin-port', '0'], {
    cwd: run,
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  assert.equal(demo.status, 0, `${demo.stdout}\n${demo.stderr}`);
  assert.match(demo.stdout, /demo passed/);
});
