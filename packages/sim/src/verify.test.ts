/**
 * The simulated TEE through the real DCAP verifier (@ratls/verifier, test-only import): every TCB
 * status appraises to itself with the simulated root as the only trust anchor, and the usual
 * negative cases (revoked PCK, expired collateral, production root only) fail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toHex } from '@ratls/evidence';
import { type TrustAnchor, trustAnchorFrom, verifyQuote } from '@ratls/verifier';
import { SIM_TCB_LEVELS, TCB_STATUSES } from './constants.js';
import { initSimulation, revokePckSerial, type SimState, SimulatedQuoteProvider, simulatedPckLeaf } from './index.js';

const AT = new Date('2026-03-01T12:00:00Z');
const LATER = new Date(AT.getTime() + 3_600_000);
const REPORT_DATA = new Uint8Array(64).fill(0x5a);

let dir: string;
let sim: SimState;
let anchor: TrustAnchor;
let collateral: { sgx: string; tdx: string };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ratls-sim-verify-'));
  sim = await initSimulation(dir, { at: AT, collateralDays: 30 });
  anchor = trustAnchorFrom(await readFile(join(dir, 'root.pem'), 'utf8'));
  collateral = {
    sgx: await readFile(join(dir, 'collateral.json'), 'utf8'),
    tdx: await readFile(join(dir, 'collateral-tdx.json'), 'utf8'),
  };
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const variants = [
  { label: 'SGX v3', tee: 'sgx', opts: {} },
  { label: 'TDX v4', tee: 'tdx', opts: { quoteVersion: 4 } },
  { label: 'TDX v5', tee: 'tdx', opts: { quoteVersion: 5 } },
] as const;

describe('simulated quotes through verifyQuote', () => {
  test('the simulated root is recognised as simulated', () => {
    assert.equal(anchor.simulated, true);
  });

  for (const v of variants) {
    for (const status of TCB_STATUSES) {
      test(`${v.label} at ${status}`, async () => {
        const p = new SimulatedQuoteProvider(sim, { tee: v.tee, tcb: status, ...v.opts });
        const { evidence } = await p.getEvidence(REPORT_DATA);
        const run = verifyQuote(evidence, collateral[v.tee], { at: LATER, trustAnchors: [anchor] });
        if (status === 'Revoked') {
          await assert.rejects(run, { code: 'ERR_TCB_REVOKED' });
          return;
        }
        const r = await run;
        assert.equal(r.tee, v.tee);
        assert.equal(r.tcbStatus, status);
        assert.equal(r.platformTcbStatus, status);
        assert.equal(r.qeTcbStatus, 'UpToDate');
        assert.equal(r.simulated, true);
        assert.equal(r.debug, false);
        assert.equal(r.fmspc, sim.fmspc[v.tee]);
        assert.deepEqual(
          [...r.advisoryIds].sort(),
          [...(SIM_TCB_LEVELS.find((l) => l.status === status)?.advisoryIds ?? [])].sort(),
        );
        assert.equal(r.measurements.reportData, toHex(REPORT_DATA));
        if (r.tee === 'tdx') {
          assert.equal(r.tdxModuleTcbStatus, 'UpToDate');
          assert.equal(r.tdxModuleId, 'TDX_01');
          assert.equal(r.quoteVersion, v.tee === 'tdx' ? v.opts.quoteVersion : 3);
        }
      });
    }
  }

  test('debug and requested measurements come through', async () => {
    const mrEnclave = '11'.repeat(32);
    const s = new SimulatedQuoteProvider(sim, { tee: 'sgx', mrEnclave, isvSvn: 4, debug: true });
    const r = await verifyQuote((await s.getEvidence(REPORT_DATA)).evidence, collateral.sgx, {
      at: LATER,
      trustAnchors: [anchor],
    });
    assert.equal(r.debug, true);
    assert.ok(r.tee === 'sgx' && r.measurements.mrEnclave === mrEnclave && r.measurements.isvSvn === 4);
    const mrTd = '22'.repeat(48);
    const t = new SimulatedQuoteProvider(sim, { tee: 'tdx', mrTd, rtmr: [undefined, '33'.repeat(48)], debug: true });
    const rt = await verifyQuote((await t.getEvidence(REPORT_DATA)).evidence, collateral.tdx, {
      at: LATER,
      trustAnchors: [anchor],
    });
    assert.equal(rt.debug, true);
    assert.ok(rt.tee === 'tdx' && rt.measurements.mrTd === mrTd && rt.measurements.rtmr1 === '33'.repeat(48));
  });

  test('refused with the production root only, after nextUpdate, and with the wrong TEE collateral', async () => {
    const { evidence } = await new SimulatedQuoteProvider(sim, { tee: 'sgx' }).getEvidence(REPORT_DATA);
    await assert.rejects(verifyQuote(evidence, collateral.sgx, { at: LATER }), { code: 'ERR_UNTRUSTED_ROOT' });
    const expired = new Date(AT.getTime() + 31 * 86_400_000);
    await assert.rejects(verifyQuote(evidence, collateral.sgx, { at: expired, trustAnchors: [anchor] }), {
      code: 'ERR_COLLATERAL_EXPIRED',
    });
    await assert.rejects(verifyQuote(evidence, collateral.tdx, { at: LATER, trustAnchors: [anchor] }), {
      code: 'ERR_TCB_INFO_TEE_MISMATCH',
    });
  });

  test('a revoked PCK serial is refused once the collateral lists it', async () => {
    const d2 = await mkdtemp(join(tmpdir(), 'ratls-sim-verify-rev-'));
    try {
      const s2 = await initSimulation(d2, { at: AT });
      const a2 = trustAnchorFrom(await readFile(join(d2, 'root.pem'), 'utf8'));
      const p = new SimulatedQuoteProvider(s2, { tee: 'tdx' });
      const { evidence } = await p.getEvidence(REPORT_DATA);
      const before = await readFile(join(d2, 'collateral-tdx.json'), 'utf8');
      assert.equal((await verifyQuote(evidence, before, { at: LATER, trustAnchors: [a2] })).tcbStatus, 'UpToDate');
      await revokePckSerial(s2, (await simulatedPckLeaf(s2, 'tdx', 'UpToDate')).serial);
      const revoked = await readFile(join(d2, 'collateral-tdx.json'), 'utf8');
      await assert.rejects(verifyQuote(evidence, revoked, { at: LATER, trustAnchors: [a2] }), {
        code: 'ERR_PCK_REVOKED',
      });
    } finally {
      await rm(d2, { recursive: true, force: true });
    }
  });
});
