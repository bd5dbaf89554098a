/** Policy over results that came out of the real DCAP appraiser on the shared vectors. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import type { AuditEvent } from '../audit/event.js';
import { createAuditLog } from '../audit/log.js';
import { verifyQuote } from '../dcap/verify-quote.js';
import { evaluatePolicy } from './evaluate.js';
import { parsePolicy } from './parse.js';

const cases = dcapCases();
const SGX = 'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06';
const TDX = 'tdx__phala-dcap-qvl__tdx_quote.bin@dcapqvl_tdx_2025-06';

async function appraise(name: string) {
  const c = cases.find((x) => x.name === name);
  assert.ok(c, `case ${name} not found`);
  return { c, r: await verifyQuote(readVector(c.quote), readVectorText(c.collateral), { at: c.at }) };
}

describe('policy over real DCAP results', { skip: SKIP_NO_VECTORS }, () => {
  it('SGX: known enclave on a platform needing configuration is refused by default, accepted when allowed', async () => {
    const { c, r } = await appraise(SGX);
    const mre = String(c.identity.mrenclave);
    const strict = parsePolicy(
      `version: 1\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${mre.toUpperCase()}" }\n`,
    );
    const d = evaluatePolicy(strict, r, { at: c.at });
    assert.ok(!d.accept);
    assert.equal(d.reasons[0]?.code, 'tcb_status_not_allowed');
    assert.equal(d.closest?.identity, 'payments');

    const lenient = parsePolicy(`version: 1
identities:
  - name: payments
    sgx: { mrEnclave: "${mre}", mrSigner: "${c.identity.mrsigner}", isvProdId: 0 }
    tcbStatus: [UpToDate, ConfigurationAndSWHardeningNeeded]
    advisories: { allow: [${c.expect.advisoryIds.join(', ')}] }
`);
    const ok = evaluatePolicy(lenient, r, { at: c.at });
    assert.ok(ok.accept && ok.identity === 'payments', JSON.stringify(ok));

    const events: AuditEvent[] = [];
    createAuditLog({ sink: { callback: (e) => events.push(e) } }).record({
      decision: ok,
      result: r,
      format: 'sgx-quote',
    });
    assert.equal(events[0]?.attestation?.mr_enclave, mre);
    assert.equal(events[0]?.attestation?.quote_sha256, r.evidenceSha256);
  });

  it('SGX: another enclave from the same signer is a measurement_mismatch naming the closest identity', async () => {
    const { c, r } = await appraise(SGX);
    const p = parsePolicy(`version: 1
identities:
  - name: payments
    sgx: { mrEnclave: "${'0866e7ca'.repeat(8)}", mrSigner: "${c.identity.mrsigner}" }
`);
    const d = evaluatePolicy(p, r, { at: c.at });
    assert.ok(!d.accept);
    assert.equal(d.reasons[0]?.code, 'measurement_mismatch');
    assert.equal(
      d.reasons[0]?.message,
      'no sgx identity matched: mrSigner matches payments but mrEnclave 33d8736d… is not 0866e7ca…',
    );
  });

  it('TDX: MRTD and RTMRs from a real quote', async () => {
    const { c, r } = await appraise(TDX);
    const id = c.identity;
    const p = parsePolicy(`version: 1
identities:
  - name: kms-td
    tdx: { mrTd: "${id.mr_td}", rtmr0: "${id.rtmr0}", rtmr1: "${id.rtmr1}", rtmr2: "${id.rtmr2}", rtmr3: "${id.rtmr3}", mrSeam: "${id.mr_seam}" }
    tcbStatus: [UpToDate]
`);
    const d = evaluatePolicy(p, r, { at: c.at });
    assert.ok(d.accept && d.identity === 'kms-td', JSON.stringify(d));
    const wrongRtmr = parsePolicy(
      `version: 1\nidentities:\n  - name: kms-td\n    tdx: { mrTd: "${id.mr_td}", rtmr1: "${'00'.repeat(48)}" }\n`,
    );
    const w = evaluatePolicy(wrongRtmr, r, { at: c.at });
    assert.ok(!w.accept);
    assert.deepEqual(w.closest, { identity: 'kms-td', mismatches: ['rtmr1 0084452c… is not 00000000…'] });
  });
});
