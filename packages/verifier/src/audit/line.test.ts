import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { evaluatePolicy } from '../policy/evaluate.js';
import { parsePolicy } from '../policy/parse.js';
import type { SgxResult } from '../result.js';
import { type AuditEvent, buildAuditEvent } from './event.js';
import { auditLine, shareSerialized } from './line.js';
import { createAuditLog } from './log.js';

const h = (bytes: number, c = 'ab') => c.repeat(bytes);
const AT = new Date('2026-01-02T03:04:05.000Z');
const POLICY = parsePolicy(`version: 1\nidentities:\n  - name: payments\n    sgx: { mrEnclave: "${h(32, '33')}" }\n`);

/** A verified result (deeply frozen, as every appraiser's result is) or, with `plain`, a bare editable one. */
function sgx(advisory = 'INTEL-SA-00334', plain = false): SgxResult {
  const r: SgxResult = {
    tee: 'sgx',
    simulated: false,
    evidenceSha256: h(32, 'ee'),
    debug: false,
    collateralWindow: { notBefore: 0, notAfter: 2e9 },
    quoteVersion: 3,
    tcbStatus: 'SWHardeningNeeded',
    platformTcbStatus: 'SWHardeningNeeded',
    qeTcbStatus: 'UpToDate',
    advisoryIds: [advisory],
    fmspc: '00906ed50000',
    measurements: {
      mrEnclave: h(32, '33'),
      mrSigner: h(32, '81'),
      isvProdId: 0,
      isvSvn: 2,
      attributes: h(16, '07'),
      reportData: h(64, '00'),
    },
  };
  return plain ? r : forgeVerifiedResult<SgxResult>(r);
}

const event = (result: SgxResult, port = 51234): AuditEvent =>
  buildAuditEvent({
    decision: evaluatePolicy(POLICY, result, { at: 1 }),
    result,
    peer: { ip: '10.0.0.7', port },
    listener: 'api',
    at: AT,
  });

/** A stream that keeps each write apart, to count the write calls the log makes. */
function writes() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString('utf8'));
      cb();
    },
  });
  return {
    stream,
    chunks,
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((l) => l !== ''),
  };
}

describe('audit line (serialized once)', () => {
  it('a cached (deeply frozen) result is recorded once and its JSON spliced into every line', () => {
    const result = sgx();
    assert.ok(Object.isFrozen(result.measurements));
    const a = event(result, 1);
    const b = event(result, 2);
    // One recorded form for every connection that reuses the result.
    assert.equal(a.trace?.attestation, b.trace?.attestation);
    assert.ok(Object.isFrozen(a.trace?.attestation));
    for (const ev of [a, b]) {
      const line = auditLine(ev);
      assert.deepEqual(JSON.parse(line), ev);
      assert.deepEqual(JSON.parse(line), JSON.parse(JSON.stringify(ev)));
    }
  });

  it('a result that can still change is never shared: an edit after one event shows in the next line', () => {
    // Frozen on top, editable inside: a stale cached JSON would hide the edit from the log.
    const result = sgx('INTEL-SA-00334', true);
    Object.freeze(result);
    const first = event(result);
    (result.advisoryIds as string[]).push('INTEL-SA-00999');
    const second = event(result);
    assert.notEqual(first.trace?.attestation, second.trace?.attestation);
    const att = JSON.parse(auditLine(second)).trace.attestation as { advisoryIds: string[] };
    assert.deepEqual(att.advisoryIds, ['INTEL-SA-00334', 'INTEL-SA-00999']);
  });

  it('shareSerialized refuses an object that is not frozen', () => {
    const o = { v: 1 as const, tee: 'sgx' };
    shareSerialized(o);
    const ev = { ...event(sgx()), trace: { v: 1 as const, at: 1, steps: [], attestation: o } };
    o.tee = 'tdx';
    assert.equal(JSON.parse(auditLine(ev)).trace.attestation.tee, 'tdx');
  });

  it('a peer-influenced string cannot split or forge a spliced line', () => {
    const result = sgx('X\n{"event":{"reason":"accepted"}}\r\u2028"');
    const line = auditLine(event(result));
    assert.equal(line.includes('\n'), false);
    assert.equal(line.includes('\r'), false);
    const parsed = JSON.parse(line) as AuditEvent;
    assert.deepEqual(parsed.trace?.attestation?.advisoryIds, ['X\n{"event":{"reason":"accepted"}}\r\u2028"']);
  });
});

describe('audit log: deferred lines', () => {
  const close = { listener: 'api', bytesIn: 1, bytesOut: 2, durationMs: 3, at: AT };

  it('connection-close events of one tick leave in one write, after the decisions before them', async () => {
    const w = writes();
    const log = createAuditLog({ sink: { stream: w.stream } });
    log.record({ decision: evaluatePolicy(POLICY, sgx(), { at: 1 }), result: sgx(), at: AT });
    for (let i = 0; i < 5; i++) log.recordConnectionClose(close);
    assert.equal(w.chunks.length, 1, 'the decision is written at once; the closes wait');
    await new Promise((r) => setImmediate(r));
    assert.equal(w.chunks.length, 2);
    assert.equal(w.lines().length, 6);
    await log.close();
  });

  it('a decision after deferred lines writes them first, in order, in the same write', () => {
    const w = writes();
    const log = createAuditLog({ sink: { stream: w.stream } });
    log.recordConnectionClose({ ...close, bytesIn: 7 });
    log.record({ error: { code: 'ERR_X', message: 'x' }, at: AT });
    assert.equal(w.chunks.length, 1);
    const [first, second] = w.lines().map((l) => JSON.parse(l) as AuditEvent);
    assert.equal(first?.event.action, 'ratls-connection-close');
    assert.equal(second?.event.action, 'ratls-handshake');
  });

  it('flush and close write what waits; a burst is bounded per write and nothing is lost', async () => {
    const w = writes();
    const log = createAuditLog({ sink: { stream: w.stream } });
    for (let i = 0; i < 600; i++) log.recordConnectionClose(close);
    // 256 lines at most wait at once: the burst has already gone out in parts.
    assert.ok(w.chunks.length >= 2, `${w.chunks.length} writes`);
    for (const c of w.chunks) assert.ok(c.split('\n').length - 1 <= 256);
    await log.flush();
    assert.equal(w.lines().length, 600);
    log.write(event(sgx()));
    await log.close();
    assert.equal(w.lines().length, 601);
    log.recordConnectionClose(close);
    await new Promise((r) => setImmediate(r));
    assert.equal(w.lines().length, 601, 'nothing after close');
  });
});
