/**
 * The early TCB asks between a cluster worker and its primary (early-ipc.ts), in one process with
 * the real state, quote verifier and PCCS stand-in: the primary's handler is a trust boundary
 * (every malformed, oversized or excess ask is dropped with a log line, never appraised), it
 * re-appraises each quote itself, and the worker's forwarder bounds what it has outstanding.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { extractEvidence, readPemOne } from '@ratls/evidence';
import { simulatedPccs, tempDir, writeFile } from '@ratls/test-support/gateway-helpers';
import type { PcsServer } from '@ratls/test-support/pcs-server';
import { type AuditEvent, createAuditLog, type PeerDecision } from '@ratls/verifier';
import { listenerAppraiser } from './appraiser.js';
import { loadGatewayConfig } from './config/config.js';
import {
  type EarlyAsk,
  EarlyAskHandler,
  type EarlyDone,
  EarlyTcbForwarder,
  MAX_EARLY_QUOTE_BYTES,
} from './early-ipc.js';
import { earlyTcbMonitor, settled } from './early-tcb.js';
import { buildState, type GatewayState } from './state.js';

const GOOD = '44'.repeat(32);

describe('early TCB asks through the cluster primary', () => {
  let dir: string;
  let pcs: PcsServer;
  let state: GatewayState;
  let der: Uint8Array;
  let quote: Uint8Array;
  let at: number;

  before(async () => {
    dir = tempDir('ratls-early-ipc-');
    ({ pcs } = await simulatedPccs(dir, GOOD));
    at = Date.now();
    writeFile(
      dir,
      'policy.yaml',
      `version: 1\ndefaults: { simulated: true }\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${GOOD}" }\n`,
    );
    writeFile(
      dir,
      'gateway.yaml',
      `version: 1
workers: 2
trust: { anchors: [./sim/root.pem], pccs: "${pcs.url}" }
policy: ./policy.yaml
earlyTcb: true
listeners:
  - { name: api, listen: "127.0.0.1:0", tls: { cert: ./server.crt, key: ./server.key }, forward: { http: "http://127.0.0.1:1" } }
`,
    );
    state = await buildState(loadGatewayConfig(join(dir, 'gateway.yaml')), undefined, {});
    der = readPemOne(readFileSync(join(dir, 'client.crt'), 'utf8'), 'CERTIFICATE');
    const ev = extractEvidence(der).find((e) => e.tee === 'sgx');
    assert.ok(ev, 'the simulated client certificate carries an SGX quote');
    quote = ev.evidence;
  });

  after(async () => {
    await pcs?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A primary's handler whose early set is the standard one (so no peer is at risk unless the
   * appraisal says otherwise), with the log lines and warnings it wrote.
   */
  const primary = (maxInFlightPerWorker?: number) => {
    const lines: Array<{ msg: string; fields: Record<string, unknown> }> = [];
    const events: AuditEvent[] = [];
    const log = (_l: string, msg: string, fields: Record<string, unknown> = {}) => void lines.push({ msg, fields });
    const monitor = earlyTcbMonitor({
      config: state.config,
      verification: () => state.verification,
      audit: createAuditLog({ sink: { callback: (e) => events.push(e) } }),
      log,
      clock: () => at,
      source: state.collateral,
    });
    assert.ok(monitor);
    const handler = new EarlyAskHandler({
      monitor,
      state: () => state,
      log,
      clock: () => at,
      ...(maxInFlightPerWorker ? { maxInFlightPerWorker } : {}),
    });
    const replies: EarlyDone[] = [];
    const handle = (m: unknown, worker = 1) => handler.handle(m, worker, (d) => replies.push(d));
    return { handler, monitor, lines, events, replies, handle };
  };
  const ask = (over: Partial<Record<keyof EarlyAsk, unknown>> = {}): Record<string, unknown> => ({
    t: 'early',
    id: 1,
    listener: 'api',
    identity: 'payments',
    tee: 'sgx',
    quote: Buffer.from(quote).toString('base64'),
    unverifiedStandardStatus: 'UpToDate',
    ...over,
  });
  const dropped = (lines: Array<{ msg: string }>, reason: string) =>
    lines.filter((l) => l.msg === `early TCB ask dropped by the primary: ${reason}`).length;

  it('re-appraises a well-formed ask itself: an unchanged early status is no warning, a lying worker is logged', async () => {
    const p = primary();
    // The worker claims Revoked: a display value only; the primary's own appraisal stands.
    p.handle(ask({ unverifiedStandardStatus: 'Revoked' }));
    assert.equal(await p.handler.whenIdle(30_000), true);
    assert.deepEqual(p.replies, [{ t: 'early-done', id: 1, assessed: true }], 'a definite outcome');
    assert.deepEqual(p.monitor.identities(), [
      { identity: 'payments', peers: 1, atRisk: 0, worstEarlyStatus: 'UpToDate', worstStandardStatus: 'UpToDate' },
    ]);
    assert.deepEqual(p.monitor.atRiskCounts(), []);
    assert.equal(p.events.length, 0, 'no warning for a peer the early set leaves as it is');
    const differs = p.lines.find((l) => /differs from the primary's appraisal/.test(l.msg));
    assert.deepEqual(differs?.fields, { worker: 1, worker_status: 'Revoked', status: 'UpToDate' });
    assert.equal(p.handler.dropped(), 0);
  });

  it('drops each malformed ask with a log line, answering when it carries an id', async () => {
    const b64 = Buffer.from(quote).toString('base64');
    const cases: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'early'],
      ['no quote', { ...ask(), quote: undefined }],
      ['an extra key', { ...ask(), result: { tcbStatus: 'UpToDate' } }],
      ['an unknown status', ask({ unverifiedStandardStatus: 'Fine' })],
      ['a listener name with a path', ask({ listener: '../api' })],
      ['a tee not SGX/TDX', ask({ tee: 'snp' })],
      ['a fractional id', ask({ id: 1.5 })],
      ['base64 with whitespace', ask({ quote: `${b64.slice(0, 8)}\n${b64.slice(8)}` })],
      ['non-canonical base64 padding bits', ask({ quote: 'QUJDRF==' })],
      ['unpadded base64', ask({ quote: b64.replace(/=+$/, '').slice(0, -1) })],
    ];
    for (const [what, m] of cases) {
      const p = primary();
      p.handle(m);
      assert.equal(await p.handler.whenIdle(1_000), true);
      assert.equal(dropped(p.lines, 'malformed'), 1, `${what}: ${JSON.stringify(p.lines)}`);
      assert.equal(p.handler.dropped(), 1, what);
      assert.deepEqual(p.monitor.identities(), [], `${what}: never appraised`);
      const id = (m as { id?: unknown } | null)?.id;
      assert.deepEqual(p.replies, Number.isSafeInteger(id) ? [{ t: 'early-done', id }] : [], what);
    }
  });

  it('drops an oversized quote before parsing it', async () => {
    const p = primary();
    p.handle(ask({ quote: 'A'.repeat(4 * Math.ceil(MAX_EARLY_QUOTE_BYTES / 3) + 4) }));
    assert.equal(dropped(p.lines, 'oversized'), 1, JSON.stringify(p.lines));
    assert.deepEqual(p.replies, [{ t: 'early-done', id: 1 }]);
    assert.deepEqual(p.monitor.identities(), []);
  });

  it('drops an identity the listener policy does not define, and an unknown listener', async () => {
    const p = primary();
    p.handle(ask({ identity: 'invented-label' }));
    p.handle(ask({ id: 2, listener: 'other' }));
    assert.equal(await p.handler.whenIdle(1_000), true);
    assert.equal(dropped(p.lines, 'unknown_identity'), 1, JSON.stringify(p.lines));
    assert.equal(dropped(p.lines, 'unknown_listener'), 1, JSON.stringify(p.lines));
    assert.deepEqual(p.monitor.identities(), []);
    assert.equal(p.replies.length, 2);
  });

  it('drops a quote its own standard appraisal refuses (a worker cannot vouch for one)', async () => {
    const p = primary();
    const forged = Uint8Array.from(quote);
    forged[forged.length - 1] = (forged[forged.length - 1] as number) ^ 0x01;
    p.handle(ask({ quote: Buffer.from(forged).toString('base64') }));
    assert.equal(await p.handler.whenIdle(30_000), true);
    const line = p.lines.find((l) => l.msg === 'early TCB ask dropped by the primary: standard_refused');
    assert.match(String(line?.fields.code), /^ERR_/, JSON.stringify(p.lines));
    assert.deepEqual(p.monitor.identities(), []);
    assert.deepEqual(p.replies, [{ t: 'early-done', id: 1 }]);
  });

  it('bounds the asks it appraises at once per worker', async () => {
    const p = primary(1);
    p.handle(ask({ id: 1 }), 7);
    p.handle(ask({ id: 2 }), 7);
    p.handle(ask({ id: 3 }), 8);
    assert.equal(dropped(p.lines, 'in_flight'), 1, JSON.stringify(p.lines));
    assert.deepEqual(p.replies, [{ t: 'early-done', id: 2 }], 'the excess ask is answered at once');
    assert.equal(await p.handler.whenIdle(30_000), true);
    assert.deepEqual(p.replies.map((r) => r.id).sort(), [1, 2, 3]);
    assert.equal(p.monitor.identities()[0]?.peers, 1, 'the same quote from two workers is one peer');
  });

  it("the worker's forwarder sends the quote, not a result, and bounds what it has outstanding", async () => {
    const policy = state.policies.get(state.config.listeners[0]?.policy ?? '');
    assert.ok(policy);
    const appraiser = listenerAppraiser({
      verification: state.verification,
      policy: () => policy,
      audit: createAuditLog({ sink: { callback: () => {} } }),
      listener: 'api',
      maxCertificateBytes: 65_536,
      appraisalTimeoutMs: 30_000,
    });
    const d: PeerDecision = await appraiser.appraise(der, { at, peer: { role: 'client' }, listener: 'api' });
    assert.equal(d.accept, true, JSON.stringify(d.error));
    const sent: EarlyAsk[] = [];
    const lines: string[] = [];
    const fwd = new EarlyTcbForwarder({
      send: (m, done) => {
        sent.push(m);
        done(null);
      },
      log: (_l, msg) => void lines.push(msg),
      maxInFlight: 2,
    });
    for (let i = 0; i < 3; i++) fwd.observe(der, d, 'api');
    assert.equal(sent.length, 2);
    assert.deepEqual(lines, ['early TCB ask dropped by the worker: in_flight']);
    assert.deepEqual(Object.keys(sent[0] ?? {}).sort(), [
      'id',
      'identity',
      'listener',
      'quote',
      't',
      'tee',
      'unverifiedStandardStatus',
      'unverifiedTcbEvaluationDataNumber',
    ]);
    assert.deepEqual(Buffer.from(sent[0]?.quote ?? '', 'base64'), Buffer.from(quote));
    assert.equal(fwd.receive({ t: 'early-done', id: sent[0]?.id }), true);
    assert.equal(fwd.receive({ t: 'collateral', id: 1 }), false, 'other answers are not its');
    fwd.observe(der, d, 'api');
    assert.equal(sent.length, 3, 'the acknowledged slot is free again');
    // Once the primary answers `assessed`, the worker stops forwarding this identity and quote.
    fwd.receive({ t: 'early-done', id: sent[2]?.id, assessed: true });
    assert.equal(fwd.stats().inFlight, 1);
    fwd.observe(der, d, 'api');
    assert.equal(sent.length, 3, 'a quote the primary remembers is not sent again');
    assert.equal(fwd.stats().inFlight, 1);
    // What the forwarder sends, the primary takes.
    const p = primary();
    p.handle(sent[2]);
    assert.equal(await p.handler.whenIdle(30_000), true);
    assert.equal(p.handler.dropped(), 0, JSON.stringify(p.lines));
    assert.equal(p.monitor.identities()[0]?.identity, 'payments');
  });

  it('a drain waits for appraisals in flight, and no longer than its bound', async () => {
    let release: () => void = () => {};
    const slow = new Promise<void>((r) => {
      release = r;
    });
    const pending = new Set<Promise<unknown>>([slow]);
    void slow.then(() => pending.delete(slow));
    const t0 = Date.now();
    assert.equal(await settled(pending, 200), false, 'given up at the bound');
    assert.ok(Date.now() - t0 < 5_000);
    const waiting = settled(pending, 30_000);
    release();
    assert.equal(await waiting, true, 'done once the appraisal settles');
  });
});
