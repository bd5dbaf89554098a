import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CollateralError } from '@ratls/evidence';
import type { CollateralRequest, CollateralSource, DcapCollateral } from '@ratls/verifier';
import {
  answerCollateral,
  type CollateralAsk,
  collateralFromWire,
  collateralToWire,
  IpcCollateralSource,
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
