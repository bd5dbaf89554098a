import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollateralError } from '@ratls/evidence';
import type { CollateralRequest, CollateralSource, DcapCollateral, SnpCollateralSource } from '@ratls/verifier';
import {
  answerCollateral,
  type CollateralAsk,
  collateralFromWire,
  collateralToWire,
  IpcCollateralSource,
  IpcKdsSource,
  KdsAnswerer,
  type KdsAsk,
} from './collateral-ipc.js';

const REQ: CollateralRequest = { tee: 'sgx', fmspc: '00906ed50000', pckCa: 'platform' };
const COLL: DcapCollateral = {
  pckCrlIssuerChainPem: 'pem-a',
  rootCaCrl: new Uint8Array([1, 2, 3]),
  pckCrl: new Uint8Array([4, 5]),
  tcbInfoIssuerChainPem: 'pem-b',
  tcbInfoJson: '{"x":1}',
  tcbInfoSignature: new Uint8Array(64).fill(7),
  qeIdentityIssuerChainPem: 'pem-c',
  qeIdentityJson: '{"y":2}',
  qeIdentitySignature: new Uint8Array(64).fill(9),
};

/** A client whose every ask is answered by `reply` (undefined: never answered). */
function client(reply: (m: CollateralAsk) => unknown, timeoutMs = 200) {
  const asks: CollateralAsk[] = [];
  const src: IpcCollateralSource = new IpcCollateralSource({
    timeoutMs,
    send: (m) => {
      asks.push(m);
      const a = reply(m);
      if (a !== undefined) setImmediate(() => src.receive(a));
    },
  });
  return { src, asks };
}

const rejectsWith = (p: Promise<unknown>, code: string) =>
  assert.rejects(p, (e: unknown) => e instanceof CollateralError && e.code === code);

describe('IpcCollateralSource (a cluster worker asking the primary)', () => {
  it('round-trips raw collateral through the wire form, bytes intact', async () => {
    const primary: CollateralSource = { getCollateral: async () => COLL };
    const answers: unknown[] = [];
    const { src } = client((m) => {
      void answerCollateral(primary, m).then((a) => answers.push(a));
      return undefined;
    });
    const p = src.getCollateral(REQ);
    await new Promise((r) => setImmediate(r));
    src.receive(answers[0]);
    assert.deepEqual(await p, COLL);
    assert.deepEqual(collateralFromWire(collateralToWire(COLL)), COLL);
    // The signed TCB evaluation data numbers (the grace anchor) travel too, and only in their shape.
    const withEvals = {
      ...COLL,
      tcbEvaluationDataNumbers: { body: '{"tcbEvaluationDataNumbers":{}}', issuerChainPem: 'PEM' },
    };
    assert.deepEqual(collateralFromWire(collateralToWire(withEvals)), withEvals);
    assert.throws(
      () => collateralFromWire({ ...collateralToWire(COLL), tcbEvaluationDataNumbers: { body: 1 } }),
      (e: { code?: string }) => e.code === 'ERR_COLLATERAL_IPC',
    );
  });

  it('no answer within the bound: ERR_COLLATERAL_TIMEOUT, as a PCCS timeout', async () => {
    const { src } = client(() => undefined, 50);
    await rejectsWith(src.getCollateral(REQ), 'ERR_COLLATERAL_TIMEOUT');
  });

  it('a late answer after the timeout is ignored, not a crash', async () => {
    const { src, asks } = client(() => undefined, 20);
    await rejectsWith(src.getCollateral(REQ), 'ERR_COLLATERAL_TIMEOUT');
    const id = asks[0]?.id as number;
    assert.equal(src.receive({ t: 'collateral', id, ok: true, collateral: collateralToWire(COLL) }), true);
  });

  it('malformed answers are ERR_COLLATERAL_IPC', async () => {
    const wire = collateralToWire(COLL);
    const bad: Array<(id: number) => unknown> = [
      (id) => ({ t: 'collateral', id }),
      (id) => ({ t: 'collateral', id, ok: true }),
      (id) => ({ t: 'collateral', id, ok: true, collateral: 'nope' }),
      (id) => ({ t: 'collateral', id, ok: true, collateral: { ...wire, tcbInfoJson: 5 } }),
      (id) => ({ t: 'collateral', id, ok: true, collateral: { ...wire, pckCrl: 'not base64!' } }),
      (id) => ({ t: 'collateral', id, ok: true, collateral: { ...wire, rootCaCrl: 'A'.repeat((4 << 20) + 4) } }),
      (id) => ({ t: 'collateral', id, ok: false, code: 'ERR_POLICY_REJECTED', message: 'results never cross' }),
      (id) => ({ t: 'collateral', id, ok: false, code: 'ERR_COLLATERAL_INVENTED', message: 'x' }),
      (id) => ({ t: 'collateral', id, ok: false, code: 'ERR_COLLATERAL_TIMEOUT' }),
    ];
    for (const [i, make] of bad.entries()) {
      const { src } = client((m) => make(m.id));
      await rejectsWith(src.getCollateral(REQ), 'ERR_COLLATERAL_IPC').catch((e: unknown) => {
        throw new Error(`case ${i}: ${String(e)}`);
      });
    }
  });

  it('messages that are not collateral answers are left to other handlers', () => {
    const { src } = client(() => undefined);
    for (const m of [null, 3, 'x', { t: 'metrics', id: 1 }]) assert.equal(src.receive(m), false);
    assert.equal(src.receive({ t: 'collateral', id: 'x' }), true);
  });

  it("the primary's typed collateral error reaches the worker with its code", async () => {
    const primary: CollateralSource = {
      getCollateral: async () => {
        throw new CollateralError('ERR_COLLATERAL_UNREACHABLE', 'collateral', 'PCCS down');
      },
    };
    const { src } = client(() => undefined);
    const p = src.getCollateral(REQ);
    const a = await answerCollateral(primary, { t: 'collateral', id: 1, req: REQ });
    src.receive(a);
    await rejectsWith(p, 'ERR_COLLATERAL_UNREACHABLE');
  });

  it('the primary refuses a malformed request without calling its source', async () => {
    let called = 0;
    const primary: CollateralSource = {
      getCollateral: async () => {
        called++;
        return COLL;
      },
    };
    const bad = { t: 'collateral', id: 1, req: { tee: 'sgx', fmspc: '../../etc', pckCa: 'platform' } };
    const a = await answerCollateral(primary, bad as unknown as CollateralAsk);
    assert.equal(a.ok, false);
    assert.equal(!a.ok && a.code, 'ERR_COLLATERAL_REQUEST');
    assert.equal(called, 0);
  });

  it('the primary is gone (send fails): ERR_COLLATERAL_IPC at once', async () => {
    const src = new IpcCollateralSource({
      timeoutMs: 5_000,
      send: () => {
        throw new Error('the IPC channel to the primary is closed');
      },
    });
    await rejectsWith(src.getCollateral(REQ), 'ERR_COLLATERAL_IPC');
  });

  it('an aborted caller stops waiting: ERR_COLLATERAL_ABORTED', async () => {
    const { src } = client(() => undefined, 5_000);
    const ac = new AbortController();
    const p = src.getCollateral(REQ, { signal: ac.signal });
    ac.abort();
    await rejectsWith(p, 'ERR_COLLATERAL_ABORTED');
  });
});

const VCEK_REQ = {
  product: 'Genoa' as const,
  chipId: new Uint8Array(64).map((_, i) => i),
  tcb: { bootloader: 9, tee: 0, snp: 23, microcode: 72, raw: new Uint8Array(8) },
};
const VCEK_DER = new Uint8Array([0x30, 0x82, 1, 2, 3, 4]);
const CHAIN_PEM = '-----BEGIN CERTIFICATE-----\nASK\n-----END CERTIFICATE-----\n';

/** A stand-in KDS that counts its upstream calls and answers after a tick. */
function countingKds(fail?: CollateralError) {
  const calls: string[] = [];
  const tick = () => new Promise((r) => setImmediate(r));
  const source: SnpCollateralSource = {
    async getVcek(req) {
      calls.push(`vcek ${req.product} ${Buffer.from(req.chipId).toString('hex').slice(0, 8)} ${req.tcb.snp}`);
      await tick();
      if (fail) throw fail;
      return VCEK_DER;
    },
    async getCertChain(product, kind) {
      calls.push(`chain ${product} ${kind}`);
      await tick();
      return CHAIN_PEM;
    },
    async getCrl(product, kind) {
      calls.push(`crl ${product} ${kind}`);
      await tick();
      return new Uint8Array([0x30, 0x00]);
    },
  };
  return { source, calls };
}

/** `workers` IPC clients of one primary-side answerer, wired as the cluster wires them. */
function kdsCluster(answerer: KdsAnswerer, workers: number, timeoutMs = 1_000) {
  return Array.from({ length: workers }, () => {
    const src: IpcKdsSource = new IpcKdsSource({
      timeoutMs,
      send: (m) => void answerer.answer(m).then((a) => src.receive(a)),
    });
    return src;
  });
}

describe('AMD KDS through the cluster primary (IpcKdsSource, KdsAnswerer)', () => {
  it('N workers starting cold: one upstream request per key, every worker gets the same bytes', async () => {
    const { source, calls } = countingKds();
    const workers = kdsCluster(new KdsAnswerer(() => source), 4);
    const vceks = await Promise.all(workers.map((w) => w.getVcek(VCEK_REQ)));
    const chains = await Promise.all(workers.map((w) => w.getCertChain('Genoa', 'vcek')));
    const crls = await Promise.all(workers.map((w) => w.getCrl('Genoa', 'vcek')));
    for (const v of vceks) assert.deepEqual(v, VCEK_DER);
    for (const c of chains) assert.equal(c, CHAIN_PEM);
    for (const c of crls) assert.deepEqual(c, new Uint8Array([0x30, 0x00]));
    assert.deepEqual(calls, ['vcek Genoa 00010203 23', 'chain Genoa vcek', 'crl Genoa vcek']);
  });

  it("the source's typed error reaches every worker with its code, fetched once", async () => {
    const { source, calls } = countingKds(new CollateralError('ERR_COLLATERAL_TIMEOUT', 'collateral', 'KDS slow'));
    const workers = kdsCluster(new KdsAnswerer(() => source), 2);
    await Promise.all(workers.map((w) => rejectsWith(w.getVcek(VCEK_REQ), 'ERR_COLLATERAL_TIMEOUT')));
    assert.equal(calls.length, 1);
  });

  it('a request the primary cannot trust (bad chip id, product, SPL) is refused before any fetch', async () => {
    const { source, calls } = countingKds();
    const answerer = new KdsAnswerer(() => source);
    const bad: unknown[] = [
      { t: 'kds', id: 1, op: 'vcek', product: 'Genoa', chipId: '../..', tcb: VCEK_REQ.tcb },
      { t: 'kds', id: 2, op: 'vcek', product: 'Naples', chipId: '00'.repeat(64), tcb: VCEK_REQ.tcb },
      { t: 'kds', id: 3, op: 'vcek', product: 'Genoa', chipId: '00'.repeat(64), tcb: { ...VCEK_REQ.tcb, snp: 256 } },
      { t: 'kds', id: 4, op: 'chain', product: 'Genoa', kind: 'ask' },
      { t: 'kds', id: 5, op: 'delete', product: 'Genoa' },
    ];
    for (const m of bad) {
      const a = await answerer.answer(m as KdsAsk);
      assert.equal(!a.ok && a.code, 'ERR_COLLATERAL_REQUEST');
    }
    assert.equal(calls.length, 0);
    const none = await new KdsAnswerer(() => undefined).answer({
      t: 'kds',
      id: 6,
      op: 'chain',
      product: 'Genoa',
      kind: 'vcek',
    });
    assert.equal(!none.ok && none.code, 'ERR_COLLATERAL_REQUEST');
  });

  it('malformed, oversized or out-of-step answers are ERR_COLLATERAL_IPC; no answer is ERR_COLLATERAL_TIMEOUT', async () => {
    const bad: Array<(id: number) => unknown> = [
      (id) => ({ t: 'kds', id }),
      (id) => ({ t: 'kds', id, ok: true, body: 5 }),
      (id) => ({ t: 'kds', id, ok: true, body: '' }),
      (id) => ({ t: 'kds', id, ok: true, body: 'A'.repeat(128 * 1024 + 4) }),
      (id) => ({ t: 'kds', id, ok: true, body: 'not base64!' }),
      (id) => ({ t: 'kds', id, ok: false, code: 'ERR_POLICY_REJECTED', message: 'results never cross' }),
    ];
    for (const make of bad) {
      const src: IpcKdsSource = new IpcKdsSource({
        timeoutMs: 1_000,
        send: (m) => setImmediate(() => src.receive(make(m.id))),
      });
      await rejectsWith(src.getVcek(VCEK_REQ), 'ERR_COLLATERAL_IPC');
    }
    const silent = new IpcKdsSource({ timeoutMs: 30, send: () => undefined });
    await rejectsWith(silent.getCertChain('Milan', 'vcek'), 'ERR_COLLATERAL_TIMEOUT');
    assert.equal(silent.receive({ t: 'kds', id: 1, ok: true, body: 'late' }), true);
    assert.equal(silent.receive({ t: 'collateral', id: 1 }), false);
  });
});
