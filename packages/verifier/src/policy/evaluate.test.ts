import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import type { AttestationResult, NitroResult, SgxResult, SnpResult, TdxResult } from '../result.js';
import { decisionSummary, evaluatePolicy } from './evaluate.js';
import { parsePolicy } from './parse.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);
const AT = 1_750_000_000;
const MRE_PAY = h(32, '33');
const MRS_FAM = h(32, '81');

const POLICY = parsePolicy(
  `version: 1
defaults:
  advisories: { deny: [INTEL-SA-00828] }
identities:
  - name: payments
    sgx: { mrEnclave: [ "${MRE_PAY}" ] }
  - name: signer-family
    sgx: { mrSigner: "${MRS_FAM}", isvProdId: 0, minIsvSvn: 3 }
  - name: allow-listed
    sgx: { mrEnclave: "${h(32, '44')}" }
    advisories: { allow: [INTEL-SA-00334] }
    maxCertificateAge: 3600
  - name: kms-td
    tdx: { mrTd: "${h(48, '91')}", rtmr3: "${h(48, '00')}", tdAttributes: { mask: "${h(8, 'ff')}", value: "${h(8, '00')}" } }
    tcbStatus: [UpToDate]
  - name: snp-vm
    snp: { measurement: "${h(48, '5a')}", minTcb: { snp: 8 }, vmpl: 0 }
  - name: dev-snp
    snp: { measurement: "${h(48, '5b')}" }
    debug: true
    simulated: true
`,
  { source: 'policy.yaml' },
);

function sgx(over: Partial<SgxResult['measurements']> = {}, top: Partial<SgxResult> = {}): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: AT - 1000, notAfter: AT + 1000 },
    quoteVersion: 3,
    tcbStatus: 'UpToDate',
    platformTcbStatus: 'UpToDate',
    qeTcbStatus: 'UpToDate',
    advisoryIds: [],
    fmspc: '00906ed50000',
    measurements: {
      mrEnclave: h(32, '08'),
      mrSigner: h(32, '99'),
      isvProdId: 0,
      isvSvn: 1,
      attributes: h(16, '07'),
      reportData: h(64, '00'),
      ...over,
    },
    ...top,
  });
}

function tdx(over: Partial<TdxResult['measurements']> = {}, top: Partial<TdxResult> = {}): TdxResult {
  return forgeVerifiedResult<TdxResult>({
    tee: 'tdx',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: AT * 2 },
    quoteVersion: 4,
    tcbStatus: 'UpToDate',
    platformTcbStatus: 'UpToDate',
    qeTcbStatus: 'UpToDate',
    tdxModuleTcbStatus: 'UpToDate',
    advisoryIds: [],
    fmspc: '00806f050000',
    measurements: {
      mrTd: h(48, '91'),
      rtmr0: h(48, '01'),
      rtmr1: h(48, '02'),
      rtmr2: h(48, '03'),
      rtmr3: h(48, '00'),
      mrSeam: h(48, '04'),
      tdAttributes: h(8, '00'),
      reportData: h(64, '00'),
      ...over,
    },
    ...top,
  });
}

function snp(over: Partial<SnpResult['measurements']> = {}, top: Partial<SnpResult> = {}): SnpResult {
  return forgeVerifiedResult<SnpResult>({
    tee: 'sev-snp',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: AT * 2 },
    reportVersion: 2,
    measurements: {
      measurement: h(48, '5a'),
      hostData: h(32, '00'),
      idKeyDigest: h(48, '00'),
      authorKeyDigest: h(48, '00'),
      reportData: h(64, '00'),
      policy: '0000000000030000',
      vmpl: 0,
      reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
      chipId: h(64, '00'),
      signingKey: 'vcek',
      ...over,
    },
    ...top,
  });
}

function nitro(): NitroResult {
  return forgeVerifiedResult<NitroResult>({
    tee: 'nitro',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: AT * 2 },
    measurements: { moduleId: 'i-0', digest: 'SHA384', pcrs: { '0': h(48, '11') }, timestamp: AT * 1000 },
  });
}

function reject(d: ReturnType<typeof evaluatePolicy>) {
  assert.equal(d.accept, false, JSON.stringify(d));
  if (d.accept) throw new Error('unreachable');
  return d;
}

describe('evaluatePolicy', () => {
  it('accepts the first identity that matches, by mrEnclave', () => {
    const d = evaluatePolicy(POLICY, sgx({ mrEnclave: MRE_PAY }), { at: AT });
    assert.deepEqual(d, { accept: true, identity: 'payments', policyHash: POLICY.hash, reasons: [] });
    assert.match(decisionSummary(d), /^accept identity=payments policy=[0-9a-f]{8}$/);
  });

  it('accepts by signer family, and tolerates SWHardeningNeeded by default', () => {
    const d = evaluatePolicy(POLICY, sgx({ mrSigner: MRS_FAM, isvSvn: 3 }, { tcbStatus: 'SWHardeningNeeded' }), {
      at: AT,
    });
    assert.ok(d.accept && d.identity === 'signer-family');
  });

  it('rejects an unknown measurement and explains which identity came closest', () => {
    const d = reject(evaluatePolicy(POLICY, sgx({ mrSigner: MRS_FAM, isvSvn: 1 }), { at: AT }));
    assert.equal(d.reasons.length, 1);
    assert.equal(d.reasons[0]?.code, 'measurement_mismatch');
    assert.equal(
      d.reasons[0]?.message,
      'no sgx identity matched: payments: mrEnclave 08080808… is not 33333333…; ' +
        'mrSigner, isvProdId match signer-family but isvSvn 1 < 3; allow-listed: mrEnclave 08080808… is not 44444444…',
    );
    assert.deepEqual(d.closest, { identity: 'signer-family', mismatches: ['isvSvn 1 < 3'] });
    assert.match(decisionSummary(d), /^reject measurement_mismatch closest=signer-family policy=[0-9a-f]{8}: no sgx/);
  });

  it('rejects debug enclaves unless allowed', () => {
    const d = reject(evaluatePolicy(POLICY, sgx({ mrEnclave: MRE_PAY }, { debug: true }), { at: AT }));
    assert.equal(d.reasons[0]?.code, 'debug_not_allowed');
    assert.equal(d.reasons[0]?.identity, 'payments');
    assert.equal(d.closest?.identity, 'payments');
    const ok = evaluatePolicy(POLICY, snp({ measurement: h(48, '5b') }, { debug: true, simulated: true }), { at: AT });
    assert.ok(ok.accept && ok.identity === 'dev-snp');
  });

  it('rejects simulated evidence unless allowed', () => {
    const d = reject(evaluatePolicy(POLICY, sgx({ mrEnclave: MRE_PAY }, { simulated: true }), { at: AT }));
    assert.deepEqual(
      d.reasons.map((r) => r.code),
      ['simulated_not_allowed'],
    );
  });

  it('rejects TCB statuses outside the effective set (per-identity override)', () => {
    const d = reject(evaluatePolicy(POLICY, sgx({ mrEnclave: MRE_PAY }, { tcbStatus: 'OutOfDate' }), { at: AT }));
    assert.equal(d.reasons[0]?.code, 'tcb_status_not_allowed');
    assert.match(d.reasons[0]?.message ?? '', /OutOfDate is not in \[UpToDate, SWHardeningNeeded\]/);
    const t = reject(evaluatePolicy(POLICY, tdx({}, { tcbStatus: 'SWHardeningNeeded' }), { at: AT }));
    assert.equal(t.reasons[0]?.code, 'tcb_status_not_allowed');
    assert.ok(evaluatePolicy(POLICY, tdx(), { at: AT }).accept);
  });

  it('rejects denied advisories, and advisories outside an allow list', () => {
    const d = reject(
      evaluatePolicy(POLICY, sgx({ mrEnclave: MRE_PAY }, { advisoryIds: ['INTEL-SA-00828'] }), { at: AT }),
    );
    assert.equal(d.reasons[0]?.code, 'advisory_not_allowed');
    const cert = { notBefore: AT - 10 };
    const allowed = sgx({ mrEnclave: h(32, '44') }, { advisoryIds: ['intel-sa-00334'] });
    assert.ok(evaluatePolicy(POLICY, allowed, { at: AT, certificate: cert }).accept);
    const other = sgx({ mrEnclave: h(32, '44') }, { advisoryIds: ['INTEL-SA-00334', 'INTEL-SA-00615'] });
    const r = reject(evaluatePolicy(POLICY, other, { at: AT, certificate: cert }));
    assert.equal(r.reasons[0]?.code, 'advisory_not_allowed');
    assert.match(r.reasons[0]?.message ?? '', /INTEL-SA-00615 are not in the allow list/);
  });

  it('rejects certificates older than maxCertificateAge, and an unknown age', () => {
    const r = sgx({ mrEnclave: h(32, '44') });
    assert.ok(evaluatePolicy(POLICY, r, { at: AT, certificate: { notBefore: AT - 3600 } }).accept);
    const old = reject(evaluatePolicy(POLICY, r, { at: AT, certificate: { notBefore: AT - 3601 } }));
    assert.equal(old.reasons[0]?.code, 'certificate_too_old');
    const unknown = reject(evaluatePolicy(POLICY, r, { at: AT }));
    assert.equal(unknown.reasons[0]?.code, 'certificate_too_old');
  });

  it('rejects a TEE the policy has no identity for', () => {
    const d = reject(evaluatePolicy(POLICY, nitro(), { at: AT }));
    assert.deepEqual(d.reasons, [{ code: 'tee_not_allowed', message: 'the policy has no identity for TEE nitro' }]);
  });

  it('refuses a result that did not come from an appraiser', () => {
    const forged = JSON.parse(JSON.stringify(sgx({ mrEnclave: MRE_PAY }))) as AttestationResult;
    const d = reject(evaluatePolicy(POLICY, forged, { at: AT }));
    assert.equal(d.reasons[0]?.code, 'unverified_result');
    assert.equal(d.policyHash, POLICY.hash);
  });

  it('checks TDX masks and RTMRs, SNP minimum TCB and VMPL', () => {
    const attr = reject(evaluatePolicy(POLICY, tdx({ tdAttributes: '0100000000000000' }), { at: AT }));
    assert.deepEqual(attr.closest, { identity: 'kms-td', mismatches: ['tdAttributes 01000000… & mask ≠ 00000000…'] });
    const rtmr = reject(evaluatePolicy(POLICY, tdx({ rtmr3: h(48, '0f') }), { at: AT }));
    assert.equal(rtmr.reasons[0]?.code, 'measurement_mismatch');
    assert.ok(evaluatePolicy(POLICY, snp(), { at: AT }).accept);
    const low = reject(
      evaluatePolicy(POLICY, snp({ reportedTcb: { bootloader: 3, tee: 0, snp: 7, microcode: 115 } }), { at: AT }),
    );
    assert.deepEqual(low.closest, { identity: 'snp-vm', mismatches: ['tcb.snp 7 < 8'] });
    const vmpl = reject(evaluatePolicy(POLICY, snp({ vmpl: 2 }), { at: AT }));
    assert.deepEqual(vmpl.closest?.mismatches, ['vmpl 2 ≠ 0']);
  });

  it('matches Nitro PCRs', () => {
    const p = parsePolicy(
      `version: 1\nidentities:\n  - name: n\n    nitro: { pcr0: "${h(48, '11')}", pcr1: "${h(48, '22')}" }\n`,
    );
    const d = reject(evaluatePolicy(p, nitro(), { at: AT }));
    assert.deepEqual(d.closest, { identity: 'n', mismatches: ['pcr1 (not reported) is not 22222222…'] });
    const p2 = parsePolicy(`version: 1\nidentities:\n  - name: n\n    nitro: { pcr0: "${h(48, '11')}" }\n`);
    assert.ok(evaluatePolicy(p2, nitro(), { at: AT }).accept);
  });
});
