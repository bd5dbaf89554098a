/**
 * Issue 16, CLI edges: errors a user can act on (which command reads this file, which command
 * makes that folder), `--json` errors on stdout, `--collateral DIR`, relative paths from the
 * caller's folder, and the bin working on an unbuilt checkout. Exit codes as the README says:
 * 0 verified/accepted, 1 refused, 2 usage or unreadable input.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runCli } from '@ratls/test-support/run-cli';
import { callerCwd } from '../io.js';

const dir = mkdtempSync(join(tmpdir(), 'ratls-cli-edges-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const sim = join(dir, 'sim');
const BAD_POLICY = 'version: 1\nidentities:\n  - name: a\n    sgx: { mrEnclav: ["00"] }\n';

describe('CLI edges (issue 16)', () => {
  before(async () => {
    assert.equal((await runCli(['sim', 'init', sim])).code, 0);
    assert.equal((await runCli(['sim', 'cert', sim, '--out', join(dir, 'app')])).code, 0);
    writeFileSync(join(dir, 'bad-policy.yaml'), BAD_POLICY);
  });

  test('verify-quote given a certificate points to verify-cert (exit 2, ERR_INPUT_UNRECOGNISED)', async () => {
    const r = await runCli(['verify-quote', join(dir, 'app.crt'), '--collateral', sim]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /X\.509 certificate: use `ratls verify-cert <file>`/);
    const j = await runCli(['verify-quote', join(dir, 'app.crt'), '--collateral', sim, '--json']);
    assert.equal(j.code, 2);
    assert.equal((JSON.parse(j.stdout) as { error: { code: string } }).error.code, 'ERR_INPUT_UNRECOGNISED');
  });

  test('verify-quote given collateral JSON says to pass it with --collateral', async () => {
    const r = await runCli(['verify-quote', join(sim, 'collateral.json'), '--collateral', sim]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /DCAP collateral JSON: pass it with `--collateral <file>`/);
  });

  test('sim cert on a folder that is not a simulator names `ratls sim init`, not a library function', async () => {
    const r = await runCli(['sim', 'cert', join(dir, 'nowhere'), '--out', join(dir, 'x')]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is not a simulator folder: create it with `ratls sim init .*nowhere`/);
    assert.doesNotMatch(r.stderr, /initSimulation/);
  });

  test('--collateral takes the simulator folder (collateral.json and collateral-tdx.json found in it)', async () => {
    const r = await runCli([
      'verify-cert',
      join(dir, 'app.crt'),
      '--collateral',
      sim,
      '--trust-anchor',
      join(sim, 'root.pem'),
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ok: boolean }).ok, true);
    const empty = mkdtempSync(join(dir, 'empty-'));
    const e = await runCli(['verify-cert', join(dir, 'app.crt'), '--collateral', empty]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /a folder with no collateral\*\.json/);
  });

  test('policy check --json prints the error and every located issue on stdout (exit 2)', async () => {
    const r = await runCli(['policy', 'check', join(dir, 'bad-policy.yaml'), '--json']);
    assert.equal(r.code, 2);
    const j = JSON.parse(r.stdout) as {
      ok: boolean;
      error: { code: string };
      issues: Array<{ line: number; message: string }>;
    };
    assert.equal(j.ok, false);
    assert.equal(j.error.code, 'ERR_POLICY_INVALID');
    const typo = j.issues.find((i) => /mrEnclav'/.test(i.message));
    assert.equal(typo?.line, 4);
    assert.match(typo?.message ?? '', /unknown key 'mrEnclav' \(did you mean 'mrEnclave'\?\)/);
    const missing = await runCli(['policy', 'check', join(dir, 'no-such.yaml'), '--json']);
    assert.equal(missing.code, 2);
    assert.equal((JSON.parse(missing.stdout) as { error: { code: string } }).error.code, 'ERR_POLICY_READ');
  });

  test('any other --json usage error is one JSON object on stdout too', async () => {
    const r = await runCli(['verify-cert', join(dir, 'absent.crt'), '--json']);
    assert.equal(r.code, 2);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'ERR_INPUT_UNREADABLE');
  });

  test('relative paths: npm run sets INIT_CWD to the caller; other processes keep their own folder', () => {
    const npmEnv = { INIT_CWD: '/home/me/work', npm_package_json: '/repo/package.json', npm_lifecycle_event: 'ratls' };
    assert.equal(callerCwd(npmEnv, '/repo'), '/home/me/work');
    // A CLI spawned elsewhere by a script under `npm test` inherits INIT_CWD but is not npm's child.
    assert.equal(callerCwd({ ...npmEnv, npm_lifecycle_event: 'test' }, '/tmp/x'), '/tmp/x');
    assert.equal(callerCwd({}, '/tmp/x'), '/tmp/x');
  });
});
