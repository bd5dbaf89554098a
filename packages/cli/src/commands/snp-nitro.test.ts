/**
 * SEV-SNP and Nitro through the CLI: real vectors through `verify-quote`, and simulated
 * certificates built with `sim cert --tee sev-snp|nitro`, summarised by `inspect`, verified by
 * `verify-cert` (and refused without the simulated root, or for another key).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli } from '@ratls/test-support/run-cli';
import { SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';

type Json = Record<string, unknown>;
const GO = 'sev-snp/google-go-sev-guest/';
const GO_AT = String(Date.parse('2022-09-24T01:00:00Z') / 1000);
const GA = 'nitro/evervault/test-data/valid-attestation-doc-base64';

describe('ratls verify-quote: SEV-SNP and Nitro vectors', { skip: SKIP_NO_VECTORS }, () => {
  test('go-sev-guest report + VCEK with the built-in Milan chain', async () => {
    const r = await runCli([
      'verify-quote',
      vectorPath(`${GO}attestation.bin`),
      '--vcek',
      vectorPath(`${GO}vcek.testcer`),
      '--product',
      'Milan',
      '--at',
      GO_AT,
      '--json',
    ]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const s = JSON.parse(r.stdout) as Json;
    assert.equal(s.ok, true);
    assert.equal(s.tee, 'sev-snp');
    assert.equal(s.simulated, false);
    assert.equal(s.debug, true);
    const human = await runCli([
      'verify-quote',
      vectorPath(`${GO}attestation.bin`),
      '--vcek',
      vectorPath(`${GO}vcek.testcer`),
      '--at',
      GO_AT,
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /TEE\s+sev-snp/);
  });

  test('go-sev-guest report: a second later than the VCEK allows, or without a VCEK, is refused', async () => {
    const early = await runCli([
      'verify-quote',
      vectorPath(`${GO}attestation.bin`),
      '--vcek',
      vectorPath(`${GO}vcek.testcer`),
      '--at',
      String(Date.parse('2022-09-24T00:55:27Z') / 1000),
      '--json',
    ]);
    assert.equal(early.code, 1);
    assert.equal(((JSON.parse(early.stdout) as Json).error as Json).code, 'ERR_SNP_CERT_EXPIRED');
    const none = await runCli(['verify-quote', vectorPath(`${GO}attestation.bin`), '--at', GO_AT, '--json']);
    assert.equal(none.code, 1);
    assert.equal(((JSON.parse(none.stdout) as Json).error as Json).code, 'ERR_SNP_COLLATERAL_MISSING');
    assert.equal((await runCli(['verify-quote', vectorPath(`${GO}attestation.bin`), '--product', 'Rome'])).code, 2);
  });

  test('evervault GA document (base64) at 1695050165', async () => {
    const r = await runCli(['verify-quote', vectorPath(GA), '--at', '1695050165', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const s = JSON.parse(r.stdout) as Json;
    assert.equal(s.tee, 'nitro');
    assert.equal(s.simulated, false);
    const late = await runCli(['verify-quote', vectorPath(GA), '--at', String(1695050165 + 400 * 86400), '--json']);
    assert.equal(late.code, 1);
  });
});

describe('ratls sim cert --tee sev-snp|nitro → inspect → verify-cert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ratls-cli-snp-nitro-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const sim = join(dir, 'sim');
  const meas = 'ab'.repeat(48);

  test('SEV-SNP: build, inspect shows SNP DICE evidence, verify with the simulated ARK', async () => {
    const out = join(dir, 'snp');
    const b = await runCli(['sim', 'cert', sim, '--tee', 'sev-snp', '--measurement', meas, '--out', out]);
    assert.equal(b.code, 0, b.stderr);
    const i = await runCli(['inspect', `${out}.crt`, '--json']);
    assert.equal(i.code, 0, i.stderr);
    const inspected = JSON.parse(i.stdout) as Json;
    const ev = (inspected.evidence as Json[])[0] as Json;
    assert.equal(ev.format, 'tcg-dice');
    assert.equal(ev.tee, 'sev-snp');
    assert.equal((ev.binding as Json).ok, true);
    const v = await runCli(['verify-cert', `${out}.crt`, '--snp-ark', join(sim, 'snp', 'ark.pem'), '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const s = JSON.parse(v.stdout) as Json;
    assert.equal(s.tee, 'sev-snp');
    assert.equal(s.simulated, true);
    assert.equal((s.measurements as Json).measurement, meas);
    assert.match(v.stderr, /SIMULATED root/);
    // With the chain named explicitly too.
    const v2 = await runCli([
      'verify-cert',
      `${out}.crt`,
      '--snp-chain',
      join(sim, 'snp', 'cert_chain.pem'),
      '--snp-ark',
      join(sim, 'snp', 'ark.pem'),
    ]);
    assert.equal(v2.code, 0, v2.stderr);
    // The built-in AMD ARKs do not vouch for the simulator.
    const r = await runCli(['verify-cert', `${out}.crt`, '--json']);
    assert.equal(r.code, 1);
    assert.equal(((JSON.parse(r.stdout) as Json).error as Json).code, 'ERR_SNP_ARK_UNTRUSTED');
  });

  test('SEV-SNP debug policy bit is a fact in the result', async () => {
    const out = join(dir, 'snp-debug');
    assert.equal((await runCli(['sim', 'cert', sim, '--tee', 'sev-snp', '--debug', '--out', out])).code, 0);
    const v = await runCli(['verify-cert', `${out}.crt`, '--snp-ark', join(sim, 'snp', 'ark.pem'), '--json']);
    assert.equal(v.code, 0, v.stdout);
    assert.equal((JSON.parse(v.stdout) as Json).debug, true);
  });

  test('Nitro: build, verify with the simulated root; refused without it', async () => {
    const out = join(dir, 'nitro');
    const pcr0 = 'cd'.repeat(48);
    const b = await runCli(['sim', 'cert', sim, '--tee', 'nitro', '--pcr', `0=${pcr0}`, '--out', out]);
    assert.equal(b.code, 0, b.stderr);
    const v = await runCli(['verify-cert', `${out}.crt`, '--nitro-root', join(sim, 'nitro', 'root.pem'), '--json']);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const s = JSON.parse(v.stdout) as Json;
    assert.equal(s.tee, 'nitro');
    assert.equal(s.simulated, true);
    assert.equal((s.measurements as Json).pcrs && ((s.measurements as Json).pcrs as Json)['0'], pcr0);
    const r = await runCli(['verify-cert', `${out}.crt`, '--json']);
    assert.equal(r.code, 1);
    assert.equal(((JSON.parse(r.stdout) as Json).error as Json).code, 'ERR_NITRO_ROOT_UNTRUSTED');
  });

  test('usage: gramine format is SGX only; bad --pcr exits 2', async () => {
    const out = join(dir, 'bad');
    assert.equal((await runCli(['sim', 'cert', sim, '--tee', 'nitro', '--format', 'gramine', '--out', out])).code, 2);
    assert.equal((await runCli(['sim', 'cert', sim, '--tee', 'nitro', '--pcr', '0=zz', '--out', out])).code, 2);
    writeFileSync(join(dir, 'empty.txt'), 'not evidence\n');
    assert.equal((await runCli(['verify-quote', join(dir, 'empty.txt')])).code, 2);
  });
});
