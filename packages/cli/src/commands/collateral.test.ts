import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseSnpReport } from '@ratls/evidence';
import { fixtureFromCase, startKdsServer, startPcsServer } from '@ratls/test-support/pcs-server';
import { runCli } from '@ratls/test-support/run-cli';
import { readVector, readVectorJson, readVectorText, SKIP_NO_VECTORS, vectorPath } from '@ratls/test-support/vectors';
import type { QuoteCollateralV3Json } from '@ratls/verifier';

const QUOTE = vectorPath('dcap-cases/sgx-dcap__phala-dcap-qvl__sgx_quote.bin.quote.bin');
/** Inside the dcapqvl_sgx_2025-06 window (cases.json). */
const AT = '1752919277';
const GO = 'sev-snp/google-go-sev-guest/';

describe('ratls collateral fetch → offline verify (issue 17)', { skip: SKIP_NO_VECTORS }, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'ratls-bundle-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  test('a DCAP bundle fetched from PCCS verifies with PCCS gone; expired or missing FMSPC refused', async () => {
    const out = join(tmp, 'dcap');
    const pccs = await startPcsServer([
      fixtureFromCase(readVectorJson<QuoteCollateralV3Json>('dcap-cases/dcapqvl_sgx_2025-06.collateral.json')),
    ]);
    try {
      const r = await runCli(['collateral', 'fetch', '--pccs', pccs.url, '--fmspc', '00A067110000', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(existsSync(join(out, 'bundle.json')));
      // One collateral set per (FMSPC, PCK CA) key, both CAs by default.
      assert.equal(pccs.count('/tcb?'), 2);
      assert.equal(pccs.count('ca=platform'), 1);
      assert.equal(pccs.count('ca=processor'), 1);
    } finally {
      await pccs.close();
    }
    const ok = await runCli(['verify-quote', QUOTE, '--collateral', out, '--at', AT, '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    const late = await runCli(['verify-quote', QUOTE, '--collateral', out, '--at', '1800000000', '--json']);
    assert.equal(late.code, 1);
    assert.equal(JSON.parse(late.stdout).error.code, 'ERR_COLLATERAL_EXPIRED');
    const other = join(tmp, 'empty');
    const none = await runCli(['collateral', 'fetch', '--fmspc', 'zz', '--out', other]);
    assert.equal(none.code, 2, 'bad FMSPC is a usage error');
  });

  test('a bundle without the platform FMSPC refuses with ERR_COLLATERAL_NOT_FOUND', async () => {
    const out = join(tmp, 'other-fmspc');
    const pccs = await startPcsServer([
      fixtureFromCase(readVectorJson<QuoteCollateralV3Json>('dcap-cases/auto_sgx_2025-08.collateral.json')),
    ]);
    try {
      const r = await runCli(['collateral', 'fetch', '--pccs', pccs.url, '--fmspc', '00606a000000', '--out', out]);
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await pccs.close();
    }
    const res = await runCli(['verify-quote', QUOTE, '--collateral', out, '--at', AT, '--json']);
    assert.equal(res.code, 1);
    assert.equal(JSON.parse(res.stdout).error.code, 'ERR_COLLATERAL_NOT_FOUND');
  });

  test('an SEV-SNP bundle (VCEK + chain from KDS) verifies offline', async () => {
    const out = join(tmp, 'snp');
    const report = parseSnpReport(readVector(`${GO}attestation.bin`));
    const hwid = Buffer.from(report.chipId).toString('hex');
    const kds = await startKdsServer({
      [`/vcek/v1/Milan/${hwid}?blSPL=02&teeSPL=00&snpSPL=05&ucodeSPL=68`]: {
        body: readVector(`${GO}vcek.testcer`),
        contentType: 'application/x-x509-ca-cert',
      },
      '/vcek/v1/Milan/cert_chain': { body: readVectorText('roots/amd/ask_ark_milan.pem'), contentType: 'text/plain' },
    });
    try {
      const r = await runCli(
        [
          'collateral',
          'fetch',
          '--kds',
          kds.url,
          '--snp-chip',
          hwid,
          '--product',
          'Milan',
          '--snp-tcb',
          '2:0:5:68',
        ].concat(['--out', out]),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(kds.hits.length, 2);
    } finally {
      await kds.close();
    }
    const at = String(Date.parse('2022-09-24T01:00:00Z') / 1000);
    const args = ['verify-quote', vectorPath(`${GO}attestation.bin`), '--collateral', out, '--product', 'Milan'];
    const ok = await runCli([...args, '--at', at, '--json']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    // Collateral the bundle does not hold (another product line): refused offline, never fetched.
    const genoa = await runCli([...args.slice(0, -1), 'Genoa', '--at', at, '--json']);
    assert.equal(genoa.code, 1);
    assert.equal(JSON.parse(genoa.stdout).error.code, 'ERR_COLLATERAL_NOT_FOUND');
  });
});
