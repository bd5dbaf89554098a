/**
 * Issue 16, CLI edges as real processes (a file of its own: each spawn is slow on a loaded host):
 * `npm run ratls -- …` resolves relative paths from the caller's folder, and the bin works on a
 * checkout without `npm run build`, with a usage error and no stack trace for a bad file.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { REPO_ROOT } from '@ratls/test-support/run-cli';

const dir = mkdtempSync(join(tmpdir(), 'ratls-cli-bin-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('the ratls binary (issue 16)', () => {
  before(() => {
    writeFileSync(
      join(dir, 'bad-policy.yaml'),
      'version: 1\nidentities:\n  - name: a\n    sgx: { mrEnclav: ["00"] }\n',
    );
  });

  test('`npm run ratls -- policy check <relative>` resolves from the caller folder', () => {
    writeFileSync(
      join(dir, 'good.yaml'),
      `version: 1\nidentities:\n  - name: a\n    sgx: { mrSigner: "${'00'.repeat(32)}" }\n`,
    );
    const r = spawnSync('npm', ['--prefix', REPO_ROOT, 'run', '-s', 'ratls', '--', 'policy', 'check', 'good.yaml'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 100_000,
    });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /policy good\.yaml: valid, 1 identities/);
  });

  test('the bin runs on a checkout without `npm run build` (sources through tsx), from any folder', () => {
    const bad = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'packages/cli/bin/ratls.mjs'), 'policy', 'check', 'bad-policy.yaml'],
      {
        cwd: dir,
        encoding: 'utf8',
        timeout: 100_000,
        env: { PATH: process.env.PATH ?? '', HOME: dir },
      },
    );
    assert.equal(bad.status, 2, bad.stderr);
    assert.match(bad.stderr, /unknown key 'mrEnclav' \(did you mean 'mrEnclave'\?\)/, 'the CLI ran');
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'a usage error, not a stack trace');
  });
});
