/**
 * TCB lifecycle rules: dated waivers, minTcbDate and the OutOfDate grace window anchored on the
 * signed TCB info (result.tcbRecoveryDate). Attacker's view first: an expired waiver, a waiver for
 * someone else and an unrelated advisory must refuse exactly as if no waiver existed.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import type { SgxResult, TdxResult } from '../result.js';
import { decisionSummary, evaluatePolicy } from './evaluate.js';
import { PolicyValidationError, parsePolicy } from './parse.js';
import { GRACE_WAIVER } from './types.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);
const UNTIL = '2026-03-01T00:00:00Z';
const UNTIL_S = Date.parse(UNTIL) / 1000;
const BEFORE = UNTIL_S - 3600;
const MRE_PAY = h(32, '33');
const MRE_OTHER = h(32, '44');

function sgx(top: Partial<SgxResult> = {}, mrEnclave = MRE_PAY): SgxResult {
  return forgeVerifiedResult<SgxResult>({
    tee: 'sgx',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: UNTIL_S * 2 },
    quoteVersion: 3,
    tcbStatus: 'OutOfDate',
    platformTcbStatus: 'OutOfDate',
    qeTcbStatus: 'UpToDate',
    advisoryIds: ['INTEL-SA-00828'],
    fmspc: '00906ed50000',
    tcbDate: '2023-08-09T00:00:00Z',
    tcbEvaluationDataNumber: 17,
    tcbRecoveryDate: '2026-02-11T00:00:00Z',
    tcbRecoveryEventDate: '2026-02-10T00:00:00Z',
    tcbRecoveryEvaluationDataNumber: 18,
    measurements: {
      mrEnclave,
      mrSigner: h(32, '99'),
      isvProdId: 0,
      isvSvn: 1,
      attributes: h(16, '07'),
      reportData: h(64, '00'),
    },
    ...top,
  });
}

const policy = (extra: string, version = 2) =>
  parsePolicy(
    `version: ${version}
identities:
  - name: payments
    sgx: { mrEnclave: "${MRE_PAY}" }
  - name: other
    sgx: { mrEnclave: "${MRE_OTHER}" }
${extra}`,
    { source: 'lifecycle.yaml' },
  );

const WAIVED = policy(`waivers:
  - name: tcb-r-2026-02
    identities: [payments]
    tcbStatus: [OutOfDate]
    advisories: [INTEL-SA-00828]
    until: ${UNTIL}
    reason: fleet microcode update scheduled (CHG-1234)
`);

function rejected(d: ReturnType<typeof evaluatePolicy>) {
  assert.equal(d.accept, false, JSON.stringify(d));
  if (d.accept) throw new Error('unreachable');
  return d;
}

describe('waivers', () => {
  it('accepts OutOfDate under a live waiver, names it and ends the connection at its date', () => {
    const d = evaluatePolicy(WAIVED, sgx(), { at: BEFORE });
    assert.equal(d.accept, true, JSON.stringify(d));
    if (!d.accept) return;
    assert.equal(d.identity, 'payments');
    assert.deepEqual(d.waivers, ['tcb-r-2026-02']);
    assert.equal(d.validUntil, UNTIL_S);
    assert.equal(d.tcbEvaluationDataNumber, 17);
    assert.match(decisionSummary(d), /waiver=tcb-r-2026-02/);
  });

  it('refuses at and after its date exactly as if it were absent', () => {
    const none = policy('');
    for (const at of [UNTIL_S, UNTIL_S + 1, UNTIL_S + 86400 * 365]) {
      const d = rejected(evaluatePolicy(WAIVED, sgx(), { at }));
      const bare = rejected(evaluatePolicy(none, sgx(), { at }));
      assert.deepEqual(d.reasons, bare.reasons);
      assert.deepEqual(
        d.reasons.map((r) => r.code),
        ['tcb_status_not_allowed'],
      );
    }
  });

  it('does not apply to another identity', () => {
    const d = rejected(evaluatePolicy(WAIVED, sgx({}, MRE_OTHER), { at: BEFORE }));
    assert.equal(d.reasons[0]?.code, 'tcb_status_not_allowed');
    assert.equal(d.reasons[0]?.identity, 'other');
  });

  it('an advisory the waiver does not name is still refused', () => {
    const p = policy(`defaults:
  tcbStatus: [UpToDate, OutOfDate]
  advisories: { deny: [INTEL-SA-00828, INTEL-SA-00615] }
waivers:
  - name: sa-828
    advisories: [INTEL-SA-00828]
    until: ${UNTIL}
    reason: mitigated in the host kernel
`);
    const ok = evaluatePolicy(p, sgx(), { at: BEFORE });
    assert.equal(ok.accept, true, JSON.stringify(ok));
    const d = rejected(evaluatePolicy(p, sgx({ advisoryIds: ['INTEL-SA-00615', 'INTEL-SA-00828'] }), { at: BEFORE }));
    assert.equal(d.reasons[0]?.code, 'advisory_not_allowed');
    assert.match(d.reasons[0]?.message ?? '', /INTEL-SA-00615/);
    assert.doesNotMatch(d.reasons[0]?.message ?? '', /INTEL-SA-00828/);
  });

  it('a status waiver does not waive a status it does not name', () => {
    const d = rejected(evaluatePolicy(WAIVED, sgx({ tcbStatus: 'ConfigurationNeeded' }), { at: BEFORE }));
    assert.equal(d.reasons[0]?.code, 'tcb_status_not_allowed');
  });

  it('an accept that needs no waiver records none', () => {
    const d = evaluatePolicy(WAIVED, sgx({ tcbStatus: 'UpToDate', advisoryIds: [] }), { at: BEFORE });
    assert.equal(d.accept, true);
    assert.equal(d.accept && d.waivers, undefined);
    assert.equal(d.accept && d.validUntil, undefined);
  });

  it('rejects on load: unknown identity, no status or advisory, missing reason, bad date, reserved name', () => {
    const bad: [string, RegExp][] = [
      [
        `waivers:\n  - { name: w, identities: [nobody], tcbStatus: [OutOfDate], until: ${UNTIL}, reason: r }\n`,
        /waivers\[0\]\.identities\[0\].*'nobody'/,
      ],
      [`waivers:\n  - { name: w, until: ${UNTIL}, reason: r }\n`, /at least one tcbStatus or advisory/],
      [`waivers:\n  - { name: w, tcbStatus: [OutOfDate], until: ${UNTIL} }\n`, /reason/],
      [`waivers:\n  - { name: w, tcbStatus: [OutOfDate], until: next week, reason: r }\n`, /UTC date/],
      [`waivers:\n  - { name: outOfDateGrace, tcbStatus: [OutOfDate], until: ${UNTIL}, reason: r }\n`, /reserved/],
    ];
    for (const [extra, re] of bad) {
      assert.throws(
        () => policy(extra),
        (e: unknown) => e instanceof PolicyValidationError && e.code === 'ERR_POLICY_INVALID' && re.test(e.message),
        extra,
      );
    }
  });
});

describe('minTcbDate', () => {
  const p = policy(`defaults:
  tcbStatus: [UpToDate, OutOfDate]
  advisories: { allow: [INTEL-SA-00828] }
  minTcbDate: 2023-08-09
`);
  it('accepts a level dated on or after it', () => {
    assert.equal(evaluatePolicy(p, sgx(), { at: BEFORE }).accept, true);
  });
  it('refuses a level one second older, and a result with no level date', () => {
    const d = rejected(evaluatePolicy(p, sgx({ tcbDate: '2023-08-08T23:59:59Z' }), { at: BEFORE }));
    assert.deepEqual(
      d.reasons.map((r) => r.code),
      ['tcb_date_too_old'],
    );
    const { tcbDate: _, ...noDate } = sgx();
    const e = rejected(evaluatePolicy(p, forgeVerifiedResult<SgxResult>(noDate as SgxResult), { at: BEFORE }));
    assert.equal(e.reasons[0]?.code, 'tcb_date_too_old');
  });
});

describe('OutOfDate grace window', () => {
  const p = policy(`defaults:
  advisories: { allow: [INTEL-SA-00828] }
  outOfDateGraceDays: 30
`);
  const end = Date.parse('2026-02-10T00:00:00Z') / 1000 + 30 * 86400;
  it('accepts OutOfDate until N days after the signed recovery date, with validUntil', () => {
    const d = evaluatePolicy(p, sgx(), { at: end - 1 });
    assert.equal(d.accept, true, JSON.stringify(d));
    assert.deepEqual(d.accept && d.waivers, [GRACE_WAIVER]);
    assert.equal(d.accept && d.validUntil, end);
  });
  it('refuses at the end of the window', () => {
    assert.equal(rejected(evaluatePolicy(p, sgx(), { at: end })).reasons[0]?.code, 'tcb_status_not_allowed');
  });
  it('gives no grace without a signed anchor, or when the QE or TDX module is what is out of date', () => {
    const { tcbRecoveryDate: _, tcbRecoveryEventDate: _e, ...noAnchor } = sgx();
    const cases = [
      forgeVerifiedResult<SgxResult>(noAnchor as SgxResult),
      sgx({ qeTcbStatus: 'OutOfDate' }),
      sgx({ platformTcbStatus: 'UpToDate' }),
      sgx({ tcbStatus: 'OutOfDateConfigurationNeeded', platformTcbStatus: 'OutOfDateConfigurationNeeded' }),
    ];
    for (const r of cases) {
      assert.equal(rejected(evaluatePolicy(p, r, { at: end - 86400 })).reasons[0]?.code, 'tcb_status_not_allowed');
    }
    const td = forgeVerifiedResult<TdxResult>({
      ...(sgx() as unknown as TdxResult),
      tee: 'tdx',
      tdxModuleTcbStatus: 'OutOfDate',
      measurements: {
        mrTd: h(48, '91'),
        rtmr0: h(48, '01'),
        rtmr1: h(48, '02'),
        rtmr2: h(48, '03'),
        rtmr3: h(48, '00'),
        mrSeam: h(48, '04'),
        tdAttributes: h(8, '00'),
        reportData: h(64, '00'),
      },
    });
    const tp = parsePolicy(
      `version: 2\ndefaults: { outOfDateGraceDays: 30, advisories: { allow: [INTEL-SA-00828] } }\nidentities:\n  - name: td\n    tdx: { mrTd: "${h(48, '91')}" }\n`,
    );
    assert.equal(rejected(evaluatePolicy(tp, td, { at: end - 86400 })).reasons[0]?.code, 'tcb_status_not_allowed');
  });
  it("is anchored on Intel's signed tcbRecoveryEventDate, not on the newer level's tcbDate", () => {
    // tcbRecoveryDate is a day later than the event: a window anchored on it would still be open.
    assert.equal(rejected(evaluatePolicy(p, sgx(), { at: end + 3600 })).reasons[0]?.code, 'tcb_status_not_allowed');
  });
  it('without the signed TCB evaluation data: no grace (fail closed), the missing data named', () => {
    const { tcbRecoveryEventDate: _, tcbRecoveryEvaluationDataNumber: _n, ...rest } = sgx();
    const unanchored = forgeVerifiedResult<SgxResult>({
      ...(rest as SgxResult),
      graceAnchorError: 'ERR_TCB_EVAL_NUMBER_MISSING',
    });
    const refused = rejected(evaluatePolicy(p, unanchored, { at: end - 86400 }));
    assert.equal(refused.reasons[0]?.code, 'tcb_status_not_allowed');
    assert.match(refused.reasons[0]?.message ?? '', /ERR_TCB_EVAL_NUMBER_MISSING/);
    // The fallback to the level's tcbDate only when the policy names it.
    const named = policy(`defaults:
  advisories: { allow: [INTEL-SA-00828] }
  outOfDateGraceDays: 30
  outOfDateGraceAnchor: tcbRecoveryEventDateElseLevelTcbDate
`);
    const d = evaluatePolicy(named, unanchored, { at: end - 86400 });
    assert.equal(d.accept, true, JSON.stringify(d));
    assert.equal(d.accept && d.validUntil, Date.parse('2026-02-11T00:00:00Z') / 1000 + 30 * 86400);
    // Named, but the signed event date present: it still wins.
    assert.equal(evaluatePolicy(named, sgx(), { at: end - 1 }).accept && true, true);
    assert.equal(rejected(evaluatePolicy(named, sgx(), { at: end })).reasons[0]?.code, 'tcb_status_not_allowed');
    assert.throws(() => policy('defaults: { outOfDateGraceAnchor: guessed }\n'), PolicyValidationError);
  });
  it('every DCAP decision records tcbEvaluationDataNumber, accept or refuse', () => {
    assert.equal(rejected(evaluatePolicy(p, sgx(), { at: end })).tcbEvaluationDataNumber, 17);
    assert.equal(rejected(evaluatePolicy(p, sgx({}, h(32, '55')), { at: end })).tcbEvaluationDataNumber, 17);
  });
});
