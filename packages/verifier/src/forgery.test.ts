/**
 * Security finding 5: the verified-result brand must not be forgeable. The attacker here is code
 * in the same process that holds a genuine result or can build any object it likes; it must not
 * get a "verified" look-alike past policy, the peer verifier or the TLS layer, nor edit a genuine
 * result (or a cached one) and keep the brand.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseQuote, RatlsError, sha256Hex } from '@ratls/evidence';
import { dcapCases, readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { collateralFromJson } from './collateral/json.js';
import { appraise } from './dcap/appraise.js';
import { pckChainPemOf, type VerifiedPck, verifyPckChain } from './dcap/pck-chain.js';
import { createQuoteVerifier } from './dcap/quote-verifier.js';
import { type VerifiedCollateral, verifyCollateral } from './dcap/verify-collateral.js';
import { runAppraisal } from './decide/appraise.js';
import { TLS_ERRORS } from './decide/errors.js';
import { createPeerVerifierCore, type PeerVerification } from './decide/peer-verifier-core.js';
import { evaluatePolicy } from './policy/evaluate.js';
import { parsePolicy } from './policy/parse.js';
import type { Decision } from './policy/types.js';
import { isVerifiedResult, type SgxResult } from './result.js';
import { defaultTrustAnchors } from './trust.js';

const SGX = 'sgx-dcap__phala-dcap-qvl__sgx_quote.bin@dcapqvl_sgx_2025-06';

function sgxCase() {
  const c = dcapCases().find((x) => x.name === SGX);
  assert.ok(c, `case ${SGX} not found`);
  return c;
}

/** The genuine inputs and output of one real appraisal (Intel root, real collateral). */
function genuine() {
  const c = sgxCase();
  const quote = readVector(c.quote);
  const q = parseQuote(quote);
  const anchors = defaultTrustAnchors();
  const pck = verifyPckChain(pckChainPemOf(q), anchors, c.at);
  const vc = verifyCollateral(collateralFromJson(readVectorText(c.collateral)), anchors, c.at, [
    { cert: pck.ca, key: pck.caKey },
  ]);
  const o = { at: c.at, evidenceSha256: sha256Hex(quote) };
  const result = appraise(q, pck, vc, o) as SgxResult;
  return { c, quote, q, pck, vc, o, result };
}

function policyFor(c: ReturnType<typeof sgxCase>) {
  return parsePolicy(`version: 1
identities:
  - name: payments
    sgx: { mrEnclave: "${c.identity.mrenclave}" }
    tcbStatus: [UpToDate, ConfigurationAndSWHardeningNeeded]
    advisories: { allow: [${c.expect.advisoryIds.join(', ')}] }
`);
}

const certInfo = (c: { at: number }) => ({
  fingerprintSha256: 'ab'.repeat(32),
  notBefore: c.at - 60,
  notAfter: c.at + 3600,
  subject: 'CN=peer',
  formats: ['dice'],
});

describe('verified results cannot be forged or edited', { skip: SKIP_NO_VECTORS }, () => {
  test('a structurally perfect copy of a genuine result is refused by evaluatePolicy (unverified_result)', () => {
    const { c, result } = genuine();
    const policy = policyFor(c);
    assert.equal(evaluatePolicy(policy, result, { at: c.at }).accept, true, 'the genuine result is accepted');
    for (const fake of [structuredClone(result), { ...result }, JSON.parse(JSON.stringify(result)) as SgxResult]) {
      assert.deepEqual(fake, result);
      assert.equal(isVerifiedResult(fake), false);
      const d = evaluatePolicy(policy, fake, { at: c.at });
      assert.equal(d.accept, false);
      assert.equal(d.reasons[0]?.code, 'unverified_result');
    }
  });

  test('a genuine result cannot be mutated: top level, measurements, window and advisories all throw', () => {
    const { result } = genuine();
    const r = result as { -readonly [K in keyof SgxResult]: SgxResult[K] };
    assert.throws(() => {
      r.measurements.mrEnclave = 'ff'.repeat(32);
    }, TypeError);
    assert.throws(() => {
      r.tcbStatus = 'UpToDate';
    }, TypeError);
    assert.throws(() => {
      r.debug = true;
    }, TypeError);
    assert.throws(() => {
      r.collateralWindow.notAfter = 4_102_444_800;
    }, TypeError);
    assert.throws(() => r.advisoryIds.pop(), TypeError);
    assert.throws(() => r.advisoryIds.push('INTEL-SA-00000'), TypeError);
    assert.throws(() => delete (r as { fmspc?: string }).fmspc, TypeError);
    assert.throws(() => Object.defineProperty(r.measurements, 'mrSigner', { value: '00' }), TypeError);
    assert.equal(Object.isFrozen(r) && Object.isFrozen(r.measurements), true);
    assert.equal(r.measurements.mrEnclave, sgxCase().identity.mrenclave);
    assert.equal(isVerifiedResult(r), true);
  });

  test('an edited copy (different mrEnclave) is not verified and is refused', () => {
    const { c, result } = genuine();
    const edited = { ...result, measurements: { ...result.measurements, mrEnclave: 'ff'.repeat(32) } };
    assert.equal(isVerifiedResult(edited), false);
    assert.equal(evaluatePolicy(policyFor(c), edited, { at: c.at }).reasons[0]?.code, 'unverified_result');
  });

  test('internal appraise refuses hand-built or copied VerifiedPck / VerifiedCollateral with ERR_UNVERIFIED_INPUT', () => {
    const { q, pck, vc, o } = genuine();
    const plainPck: VerifiedPck = { ...pck };
    const plainVc: VerifiedCollateral = { ...vc };
    const cases: Array<[string, VerifiedPck, VerifiedCollateral]> = [
      ['copied PCK chain', plainPck, vc],
      ['copied collateral', pck, plainVc],
      ['both copied', plainPck, plainVc],
      ['edited collateral', pck, { ...vc, notAfter: 4_102_444_800 }],
    ];
    for (const [name, p, v] of cases) {
      assert.throws(
        () => appraise(q, p, v, o),
        (e: unknown) => e instanceof RatlsError && e.code === 'ERR_UNVERIFIED_INPUT',
        name,
      );
    }
    assert.ok(isVerifiedResult(appraise(q, pck, vc, o)), 'the genuine inputs still appraise');
  });

  test('verified PCK chains and collateral are deep-frozen', () => {
    const { pck, vc } = genuine();
    const p = pck as { -readonly [K in keyof VerifiedPck]: VerifiedPck[K] };
    assert.throws(() => {
      p.pckCa = 'platform';
    }, TypeError);
    assert.throws(() => {
      (p.ext.tcb as { pceSvn: number }).pceSvn = 0xffff;
    }, TypeError);
    assert.throws(() => {
      (vc.tcbInfo as { nextUpdate: number }).nextUpdate = 4_102_444_800;
    }, TypeError);
    assert.throws(() => (vc.tcbInfo.tcbLevels as unknown[]).shift(), TypeError);
    assert.throws(() => {
      (vc.qeIdentity as { mrSigner: unknown }).mrSigner = null;
    }, TypeError);
  });

  test('every plain object and array reachable from verified PCK chains and collateral is frozen', () => {
    // Walked with the full descriptor set (symbols and non-enumerable keys too), independently of
    // the freeze walk, so a faster freeze can never leave a nested container editable.
    const { pck, vc } = genuine();
    const seen = new Set<object>();
    const open: string[] = [];
    const visit = (v: unknown, path: string): void => {
      if (typeof v !== 'object' || v === null || seen.has(v)) return;
      seen.add(v);
      const proto = Object.getPrototypeOf(v);
      if (!Array.isArray(v) && proto !== Object.prototype && proto !== null) return;
      if (!Object.isFrozen(v)) open.push(path);
      for (const key of Reflect.ownKeys(v)) {
        const d = Object.getOwnPropertyDescriptor(v, key);
        if (d && 'value' in d) visit(d.value, `${path}.${String(key)}`);
      }
    };
    visit(pck, 'pck');
    visit(vc, 'vc');
    assert.deepEqual(open, []);
    assert.ok(seen.size > 50, `walked ${seen.size} objects`);
  });

  test('the quote verifier cache cannot be poisoned by a caller that edits a result', async () => {
    const c = sgxCase();
    const v = createQuoteVerifier({
      collateralSource: { getCollateral: async () => collateralFromJson(readVectorText(c.collateral)) },
    });
    const quote = readVector(c.quote);
    const first = (await v.verify(quote, { at: c.at })) as SgxResult;
    assert.throws(() => {
      (first.measurements as { mrEnclave: string }).mrEnclave = 'ff'.repeat(32);
    }, TypeError);
    const again = (await v.verify(quote, { at: c.at })) as SgxResult;
    assert.equal(v.stats().resultHits, 1);
    assert.equal(again.measurements.mrEnclave, c.identity.mrenclave);
    assert.ok(isVerifiedResult(again) && Object.isFrozen(again.measurements));
  });

  test('the peer verifier refuses a look-alike result with ERR_TLS_RESULT_UNVERIFIED', async () => {
    const { c, result } = genuine();
    const policy = policyFor(c);
    const verifierReturning = (r: SgxResult) =>
      createPeerVerifierCore({
        verify: async (): Promise<PeerVerification> => ({
          result: r,
          certificate: certInfo(c),
          binding: { formats: ['dice'] },
        }),
        evaluate: (res, ctx) => evaluatePolicy(policy, res, ctx),
      });
    const ctx = { at: c.at * 1000, peer: { role: 'client' as const } };
    const fake = await verifierReturning(structuredClone(result)).appraise(new Uint8Array([0x30, 0]), ctx);
    assert.equal(fake.accept, false);
    assert.equal(fake.error?.code, TLS_ERRORS.RESULT_UNVERIFIED);
    const real = await verifierReturning(result).appraise(new Uint8Array([0x30, 0]), ctx);
    assert.equal(real.accept, true);
  });

  test('the peer verifier cache is frozen: an application cannot edit what the next peer gets', async () => {
    const { c, result } = genuine();
    const v = createPeerVerifierCore({
      verify: async (): Promise<PeerVerification> => ({
        result,
        certificate: certInfo(c),
        binding: { formats: ['dice'] },
      }),
      evaluate: (res, ctx) => evaluatePolicy(policyFor(c), res, ctx),
    });
    const ctx = { at: c.at * 1000, peer: { role: 'client' as const } };
    const d = await v.appraise(new Uint8Array([0x30, 1]), ctx);
    assert.ok(d.accept && d.certificate);
    const cert = d.certificate;
    assert.throws(() => {
      cert.notBefore = 0;
    }, TypeError);
    assert.throws(() => cert.formats.push('nitro'), TypeError);
  });

  test('the TLS layer refuses an accept from a custom appraiser that carries a look-alike result', async () => {
    const { c, result } = genuine();
    const ctx = { at: c.at * 1000, peer: { role: 'client' as const } };
    const decision: Decision = { accept: true, identity: 'payments', policyHash: policyFor(c).hash, reasons: [] };
    const forged = await runAppraisal(
      { appraise: async () => ({ accept: true, result: structuredClone(result), decision }) },
      new Uint8Array([0x30, 0]),
      ctx,
    );
    assert.equal(forged.accept, false);
    assert.equal(forged.error?.code, TLS_ERRORS.RESULT_UNVERIFIED);
    const ok = await runAppraisal(
      { appraise: async () => ({ accept: true, result, decision }) },
      new Uint8Array([0x30, 0]),
      ctx,
    );
    assert.equal(ok.accept, true);
  });
});
