/**
 * Fields added in issue 17: TDX mrServiceTd, xfam and TD attribute bits by name; SEV-SNP policy
 * bits by name, chipId allowlists and policy version 2's default `vmpl: 0`. For each: the evidence
 * the identity describes is accepted, and mutating that one field refuses with measurement_mismatch
 * naming the field.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import type { SnpResult, TdxResult } from '../result.js';
import { evaluatePolicy } from './evaluate.js';
import { PolicyValidationError, parsePolicy } from './parse.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);
const AT = 1_750_000_000;

function tdx(over: Partial<TdxResult['measurements']> = {}): TdxResult {
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
      // SEPT_VE_DISABLE (bit 28 → byte 3, 0x10) set, DEBUG clear.
      tdAttributes: '0000001000000000',
      xfam: 'e702060000000000',
      mrServiceTd: h(48, '5e'),
      reportData: h(64, '00'),
      ...over,
    },
  });
}

function snp(over: Partial<SnpResult['measurements']> = {}): SnpResult {
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
      // SMT (16) and the must-be-one bit 17 set; MIGRATE_MA (18) and DEBUG (19) clear.
      policy: '0000000000030000',
      vmpl: 0,
      reportedTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115 },
      chipId: h(64, 'c1'),
      signingKey: 'vcek',
      ...over,
    },
  });
}

const TDX_POLICY = parsePolicy(`version: 2
identities:
  - name: td
    tdx:
      mrTd: "${h(48, '91')}"
      mrServiceTd: "${h(48, '5e')}"
      xfam: { mask: "ffffffffffffffff", value: "e702060000000000" }
      tdAttributeBits: { SEPT_VE_DISABLE: true, DEBUG: false, PKS: false }
`);

const SNP_POLICY = parsePolicy(`version: 2
identities:
  - name: vm
    snp:
      measurement: "${h(48, '5a')}"
      chipId: [ "${h(64, 'c1')}", "${h(64, 'c2')}" ]
      policyBits: { DEBUG: false, MIGRATE_MA: false, SMT: true }
`);

function mismatch(d: ReturnType<typeof evaluatePolicy>, field: RegExp): void {
  assert.equal(d.accept, false, JSON.stringify(d));
  if (d.accept) return;
  assert.equal(d.reasons[0]?.code, 'measurement_mismatch');
  assert.ok(
    d.closest?.mismatches.some((m) => field.test(m)),
    JSON.stringify(d.closest),
  );
}

describe('TDX fields', () => {
  it('accepts the TD the identity describes', () => {
    assert.equal(evaluatePolicy(TDX_POLICY, tdx(), { at: AT }).accept, true);
  });
  it('mrServiceTd: a different or missing service TD is refused', () => {
    mismatch(evaluatePolicy(TDX_POLICY, tdx({ mrServiceTd: h(48, '5f') }), { at: AT }), /^mrServiceTd /);
    const { mrServiceTd: _, ...m } = tdx().measurements;
    mismatch(evaluatePolicy(TDX_POLICY, forgeVerifiedResult({ ...tdx(), measurements: m }), { at: AT }), /mrServiceTd/);
  });
  it('xfam: one bit more is refused', () => {
    mismatch(evaluatePolicy(TDX_POLICY, tdx({ xfam: 'e702060000000001' }), { at: AT }), /^xfam /);
  });
  it('tdAttributeBits: SEPT_VE_DISABLE clear, PKS set are each refused by name', () => {
    mismatch(
      evaluatePolicy(TDX_POLICY, tdx({ tdAttributes: '0000000000000000' }), { at: AT }),
      /tdAttributes\.SEPT_VE_DISABLE is clear/,
    );
    mismatch(
      evaluatePolicy(TDX_POLICY, tdx({ tdAttributes: '0000005000000000' }), { at: AT }),
      /tdAttributes\.PKS is set/,
    );
  });
  it('an unknown attribute name is a load error, not ignored', () => {
    assert.throws(
      () =>
        parsePolicy(
          `version: 2\nidentities:\n  - name: td\n    tdx: { mrTd: "${h(48, '91')}", tdAttributeBits: { SEPT_VE: true } }\n`,
        ),
      (e: unknown) => e instanceof PolicyValidationError && /unknown key 'SEPT_VE'/.test(e.message),
    );
  });
});

describe('SEV-SNP fields', () => {
  it('accepts the VM the identity describes', () => {
    assert.equal(evaluatePolicy(SNP_POLICY, snp(), { at: AT }).accept, true);
    assert.equal(evaluatePolicy(SNP_POLICY, snp({ chipId: h(64, 'c2') }), { at: AT }).accept, true);
  });
  it('chipId: a chip outside the allowlist is refused', () => {
    mismatch(evaluatePolicy(SNP_POLICY, snp({ chipId: h(64, 'c3') }), { at: AT }), /^chipId /);
  });
  it('policyBits: MIGRATE_MA set, SMT clear, DEBUG set are each refused by name', () => {
    mismatch(evaluatePolicy(SNP_POLICY, snp({ policy: '0000000000070000' }), { at: AT }), /policy\.MIGRATE_MA is set/);
    mismatch(evaluatePolicy(SNP_POLICY, snp({ policy: '0000000000020000' }), { at: AT }), /policy\.SMT is clear/);
    mismatch(evaluatePolicy(SNP_POLICY, snp({ policy: '00000000000b0000' }), { at: AT }), /policy\.DEBUG is set/);
  });
  it('policyBits: a malformed policy field proves nothing and is refused', () => {
    mismatch(evaluatePolicy(SNP_POLICY, snp({ policy: '30000' }), { at: AT }), /not reported/);
  });
});

describe('policy version 2 and vmpl', () => {
  const body = `identities:\n  - name: vm\n    snp: { measurement: "${h(48, '5a')}" }\n`;
  it('version 2 requires VMPL 0 when the identity names no level', () => {
    const p = parsePolicy(`version: 2\n${body}`);
    assert.deepEqual(p.warnings, []);
    assert.equal(evaluatePolicy(p, snp(), { at: AT }).accept, true);
    mismatch(evaluatePolicy(p, snp({ vmpl: 1 }), { at: AT }), /^vmpl 1 ≠ 0/);
  });
  it('version 2 accepts another level only where an identity names it (paravisor)', () => {
    const p = parsePolicy(
      `version: 2\nidentities:\n  - name: vm\n    snp: { measurement: "${h(48, '5a')}", vmpl: 2 }\n`,
    );
    assert.equal(evaluatePolicy(p, snp({ vmpl: 2 }), { at: AT }).accept, true);
    mismatch(evaluatePolicy(p, snp({ vmpl: 0 }), { at: AT }), /^vmpl 0 ≠ 2/);
  });
  it('version 1 keeps its meaning (any VMPL) and warns that it is deprecated', () => {
    const p = parsePolicy(`version: 1\n${body}`, { source: 'old.yaml' });
    assert.equal(evaluatePolicy(p, snp({ vmpl: 3 }), { at: AT }).accept, true);
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0] ?? '', /old\.yaml: policy version 1 is deprecated/);
  });
  it('version 3 is refused', () => {
    assert.throws(
      () => parsePolicy(`version: 3\n${body}`),
      (e: unknown) => e instanceof PolicyValidationError && /expected 1 or 2/.test(e.message),
    );
  });
});
