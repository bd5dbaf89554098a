import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initSimulation } from '@ratls/sim';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { CLI_ENTRY, REPO_ROOT, runCli } from '@ratls/test-support/run-cli';

describe('ratls attest', () => {
  let dir: string;
  let sim: string;
  before(async () => {
    dir = tempDir('ratls-attest-');
    sim = join(dir, 'sim');
    await initSimulation(sim);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const mode = (p: string) => statSync(p).mode & 0o777;
  const matches = (prefix: string) =>
    new X509Certificate(readFileSync(`${prefix}.crt`)).checkPrivateKey(createPrivateKey(readFileSync(`${prefix}.key`)));

  it('writes PREFIX.crt and PREFIX.key, both 0600, a matching pair with evidence in the certificate', async () => {
    const out = join(dir, 'app');
    const r = await runCli(['attest', '--out', out, '--simulated', sim, '--mrenclave', 'ab'.repeat(32)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(mode(`${out}.crt`), 0o600);
    assert.equal(mode(`${out}.key`), 0o600);
    assert.ok(matches(out));
    const shown = await runCli(['inspect', `${out}.crt`]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /sgx/i);
    assert.match(shown.stdout, new RegExp('ab'.repeat(32)));
    assert.match(r.stderr, /SIMULATED TEE/);
  });

  it('warns when the key lands outside the TEE-protected paths, and not under a named protected mount', async () => {
    const outside = await runCli(['attest', '--out', join(dir, 'plain'), '--simulated', sim]);
    assert.equal(outside.code, 0, outside.stderr);
    assert.match(outside.stderr, /WARNING: the private key is written outside the TEE: .*encrypted mounts/);
    const inside = await runCli(['attest', '--out', join(dir, 'prot'), '--simulated', sim, '--protected', dir]);
    assert.equal(inside.code, 0, inside.stderr);
    assert.doesNotMatch(inside.stderr, /outside the TEE/);
  });

  it('without a TEE interface and without --simulated it fails closed (ERR_PROVIDER_NOT_FOUND), writing nothing', {
    skip:
      statSafe('/dev/attestation') || statSafe('/sys/kernel/config/tsm/report')
        ? 'this host has a TEE interface'
        : false,
  }, async () => {
    const out = join(dir, 'none');
    const r = await runCli(['attest', '--out', out]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_PROVIDER_NOT_FOUND/);
    assert.equal(statSafe(`${out}.key`), false);
  });

  it('an unwritable destination is ERR_ATTEST_WRITE; a bad --validity is a usage error', async () => {
    const r = await runCli(['attest', '--out', join(dir, 'missing', 'x'), '--simulated', sim]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /ERR_ATTEST_WRITE/);
    const v = await runCli(['attest', '--out', join(dir, 'v'), '--simulated', sim, '--validity', '1']);
    assert.equal(v.code, 2);
    assert.match(v.stderr, /--validity/);
  });

  it('--renew keeps rewriting both files with a new key (still 0600) and exits 0 on SIGTERM', async () => {
    const out = join(dir, 'renewing');
    const child = spawn(
      process.execPath,
      [
        '--conditions=development',
        '--import',
        'tsx',
        CLI_ENTRY,
        'attest',
        '--out',
        out,
        '--simulated',
        sim,
        '--renew',
        '--validity',
        '3',
      ],
      { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr?.resume();
    try {
      const wrote = () => (stdout.match(/^wrote /gm) ?? []).length;
      // Start (tsx) plus one renewal at ~2.25 s of a 3 s lifetime; bounded generously.
      for (let i = 0; i < 600 && wrote() < 1; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(wrote() >= 1, true, 'first write');
      const firstKey = readFileSync(`${out}.key`, 'utf8');
      for (let i = 0; i < 150 && wrote() < 2; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(wrote() >= 2, true, `renewed: ${stdout}`);
      assert.notEqual(readFileSync(`${out}.key`, 'utf8'), firstKey, 'a new key');
      assert.ok(matches(out));
      assert.equal(mode(`${out}.key`), 0o600);
      assert.equal(mode(`${out}.crt`), 0o600);
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

function statSafe(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}
