import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { buildCollateral, initSimulation, type SimState, SimulatedQuoteProvider } from '@ratls/sim';
import { fixtureFromCase, type PcsServer, startPcsServer } from '@ratls/test-support/pcs-server';
import { PccsCollateralSource } from '../collateral/pccs-source.js';
import { type TrustAnchor, trustAnchorFrom } from '../trust.js';
import { type EarlyAssessment, EarlyTcbWatch } from './early-watch.js';
import { createQuoteVerifier } from './quote-verifier.js';

const AT = new Date('2026-03-01T12:00:00Z');
const LATER = new Date(AT.getTime() + 3_600_000);

let dir: string;
let sim: SimState;
let anchor: TrustAnchor;
let pccs: PcsServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-early-'));
  sim = await initSimulation(dir, { at: AT, collateralDays: 30 });
  anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  const standard = await buildCollateral(sim);
  const early = await buildCollateral(sim, { early: true });
  pccs = await startPcsServer([fixtureFromCase(standard.sgx), { ...fixtureFromCase(early.sgx), update: 'early' }]);
});
after(async () => {
  await pccs?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('early TCB warning (issue 17)', () => {
  test('early set demoting a level: the identity is at risk while still accepted; one warning per peer', async () => {
    const clock = () => LATER.getTime();
    const standardSource = new PccsCollateralSource(pccs.url, { clock, cacheDir: join(dir, 'cache') });
    const earlySource = new PccsCollateralSource(pccs.url, { clock, cacheDir: join(dir, 'cache'), update: 'early' });
    const standard = createQuoteVerifier({ collateralSource: standardSource, trustAnchors: [anchor] });
    const warnings: EarlyAssessment[] = [];
    const watch = new EarlyTcbWatch({
      verifier: createQuoteVerifier({ collateralSource: earlySource, trustAnchors: [anchor] }),
      onAtRisk: (a) => warnings.push(a),
    });
    const upToDate = await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'UpToDate' }).getEvidence(
      new Uint8Array(64).fill(1),
    );
    const older = await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'SWHardeningNeeded' }).getEvidence(
      new Uint8Array(64).fill(2),
    );
    const r1 = await standard.verify(upToDate.evidence, { at: LATER });
    assert.equal(r1.tcbStatus, 'UpToDate', 'accepted today under the standard set');
    const a1 = await watch.observe({ identity: 'payments', quote: upToDate.evidence, standard: r1, at: LATER });
    assert.equal(a1.earlyStatus, 'OutOfDate');
    assert.equal(a1.atRisk, true);
    assert.deepEqual(a1.addedAdvisoryIds, ['INTEL-SA-99999']);
    // The same peer again: no second warning.
    await watch.observe({ identity: 'payments', quote: upToDate.evidence, standard: r1, at: LATER });
    assert.equal(warnings.length, 1);
    // A level the early set does not touch: not at risk.
    const r2 = await standard.verify(older.evidence, { at: LATER });
    const a2 = await watch.observe({ identity: 'batch', quote: older.evidence, standard: r2, at: LATER });
    assert.equal(a2.earlyStatus, 'SWHardeningNeeded');
    assert.equal(a2.atRisk, false);
    assert.deepEqual(watch.identities(), {
      payments: { peers: 1, atRisk: 1, worstEarlyStatus: 'OutOfDate', worstStandardStatus: 'UpToDate' },
      batch: { peers: 1, atRisk: 0, worstEarlyStatus: 'SWHardeningNeeded', worstStandardStatus: 'SWHardeningNeeded' },
    });
    assert.deepEqual(watch.atRiskCounts(), [{ identity: 'payments', status: 'OutOfDate', peers: 1 }]);
    assert.equal(
      pccs.count('update=early'),
      3,
      'TCB info, QE identity and TCB evaluation data numbers fetched early, once',
    );
    // Standard and early keep separate anti-rollback state: early numbers (18) never refuse standard (17).
    assert.equal(standardSource.status().rollback.seen['tcb-sgx-' + sim.fmspc.sgx], 17);
    assert.equal(earlySource.status().rollback.seen['tcb-sgx-' + sim.fmspc.sgx], 18);
    const again = new PccsCollateralSource(pccs.url, { clock, cacheDir: join(dir, 'cache') });
    await again.getCollateral({ tee: 'sgx', fmspc: sim.fmspc.sgx, pckCa: 'platform' });
  });

  test('an unavailable early set is recorded, never a refusal, and retried later', async () => {
    const watch = new EarlyTcbWatch({
      verifier: createQuoteVerifier({
        collateralSource: new PccsCollateralSource('http://127.0.0.1:1', { timeoutMs: 200 }),
        trustAnchors: [anchor],
      }),
    });
    const q = await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'UpToDate' }).getEvidence(
      new Uint8Array(64).fill(3),
    );
    const r = await createQuoteVerifier({
      collateralSource: new PccsCollateralSource(pccs.url, { clock: () => LATER.getTime() }),
      trustAnchors: [anchor],
    }).verify(q.evidence, { at: LATER });
    const a = await watch.observe({ identity: 'x', quote: q.evidence, standard: r, at: LATER });
    assert.equal(a.atRisk, false);
    assert.equal(a.earlyError, 'ERR_COLLATERAL_UNREACHABLE');
    assert.deepEqual(watch.identities(), { x: { peers: 0, atRisk: 0 } });
  });

  test('concurrent connections from one enclave share one early appraisal: one warning', async () => {
    const clock = () => LATER.getTime();
    const warnings: EarlyAssessment[] = [];
    const watch = new EarlyTcbWatch({
      verifier: createQuoteVerifier({
        collateralSource: new PccsCollateralSource(pccs.url, { clock, update: 'early' }),
        trustAnchors: [anchor],
      }),
      onAtRisk: (a) => warnings.push(a),
    });
    const q = await new SimulatedQuoteProvider(sim, { tee: 'sgx', tcb: 'UpToDate' }).getEvidence(
      new Uint8Array(64).fill(4),
    );
    const r = await createQuoteVerifier({
      collateralSource: new PccsCollateralSource(pccs.url, { clock }),
      trustAnchors: [anchor],
    }).verify(q.evidence, { at: LATER });
    const all = await Promise.all(
      [1, 2, 3].map(() => watch.observe({ identity: 'payments', quote: q.evidence, standard: r, at: LATER })),
    );
    assert.ok(all.every((a) => a.atRisk && a.earlyStatus === 'OutOfDate'));
    assert.equal(warnings.length, 1, 'three concurrent observations, one warning');
  });
});
