/**
 * The appraiser records the signed facts the policy's date rules read: the TCB info's
 * tcbEvaluationDataNumber, and for a demoted level the tcbDate of the next newer level (the TCB
 * recovery that demoted it). (@ratls/sim is a test-only import here.)
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildCollateral, initSimulation, SIM_TCB_LEVELS, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { trustAnchorFrom } from '../trust.js';
import { verifyQuote } from './verify-quote.js';

const AT = new Date('2026-03-01T12:00:00Z');
let dir: string;
let sim: SimState;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-tcbr-'));
  sim = await initSimulation(dir, { at: AT });
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('OutOfDate level: tcbRecoveryDate is the next newer level’s signed tcbDate; UpToDate has none', async () => {
  const col = (await buildCollateral(sim)).sgx;
  const anchor = trustAnchorFrom(sim.root.certPem);
  const at = new Date(AT.getTime() + 60_000);
  const quote = async (tcb: 'OutOfDate' | 'UpToDate') =>
    (await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb }).getEvidence(new Uint8Array(64))).evidence;
  const old = await verifyQuote(await quote('OutOfDate'), col, { at, trustAnchors: [anchor] });
  const i = SIM_TCB_LEVELS.findIndex((l) => l.status === 'OutOfDate');
  assert.equal(old.tcbStatus, 'OutOfDate');
  assert.equal(old.tee === 'sgx' && old.tcbRecoveryDate, SIM_TCB_LEVELS[i - 1]?.tcbDate);
  const evalNumber = (JSON.parse(col.tcb_info) as { tcbEvaluationDataNumber: number }).tcbEvaluationDataNumber;
  assert.equal(old.tee === 'sgx' && old.tcbEvaluationDataNumber, evalNumber);
  const fresh = await verifyQuote(await quote('UpToDate'), col, { at, trustAnchors: [anchor] });
  assert.equal(fresh.tee === 'sgx' && fresh.tcbRecoveryDate, undefined);
  assert.equal(fresh.tee === 'sgx' && fresh.tcbEvaluationDataNumber, evalNumber);
});

test("through PCCS: the sim's signed TCB evaluation data numbers anchor the demoted level on its tcbRecoveryEventDate", async () => {
  const { fixtureFromCase, startPcsServer } = await import('@ratls/test-support/pcs-server');
  const { buildTcbEvaluationDataNumbers } = await import('@ratls/sim');
  const { PccsCollateralSource } = await import('../collateral/pccs-source.js');
  const { createQuoteVerifier } = await import('./quote-verifier.js');
  const at = new Date(AT.getTime() + 60_000);
  const anchor = trustAnchorFrom(sim.root.certPem);
  const evals = buildTcbEvaluationDataNumbers(sim).sgx;
  const fx = fixtureFromCase((await buildCollateral(sim)).sgx);
  const tampered = { ...evals, body: evals.body.replace('"tcbEvaluationDataNumber":', '"tcbEvaluationDataNumber": ') };
  const pcs = await startPcsServer([{ ...fx, tcbEvalNumbers: evals }]);
  const bad = await startPcsServer([{ ...fx, tcbEvalNumbers: tampered }]);
  const none = await startPcsServer([fx]);
  try {
    const q = (await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'OutOfDate' }).getEvidence(new Uint8Array(64)))
      .evidence;
    const via = (url: string) =>
      createQuoteVerifier({
        collateralSource: new PccsCollateralSource(url, { clock: () => at.getTime() }),
        trustAnchors: [anchor],
      }).verify(q, { at });
    const i = SIM_TCB_LEVELS.findIndex((l) => l.status === 'OutOfDate');
    const newer = SIM_TCB_LEVELS[i - 1]?.tcbDate as string;
    const r = await via(pcs.url);
    assert.equal(r.tcbRecoveryDate, newer);
    assert.equal(r.tcbRecoveryEventDate, new Date(Date.parse(newer) - 86_400_000).toISOString().replace('.000Z', 'Z'));
    assert.equal(typeof r.tcbRecoveryEvaluationDataNumber, 'number');
    assert.equal(r.graceAnchorError, undefined);
    // Tampered in transit: the appraisal stands, the grace anchor is gone and the reason recorded.
    const t = await via(bad.url);
    assert.equal(t.tcbStatus, 'OutOfDate');
    assert.equal(t.tcbRecoveryEventDate, undefined);
    assert.equal(t.graceAnchorError, 'ERR_TCB_EVAL_NUMBERS_SIGNATURE');
    // Not served (an older PCCS): no anchor, recorded as missing.
    const n = await via(none.url);
    assert.equal(n.tcbRecoveryEventDate, undefined);
    assert.equal(n.graceAnchorError, 'ERR_TCB_EVAL_NUMBER_MISSING');
  } finally {
    await pcs.close();
    await bad.close();
    await none.close();
  }
});
