import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AuditEvent, buildAuditEvent, buildPolicyReloadEvent } from '@ratls/verifier';
import { consoleEntry, explainDecision } from './explain.js';
import { ConsoleHub } from './hub.js';
import { ReportBuilder } from './render-report.js';
import { eventId, Tally } from './tally.js';
import { waiverRows } from './waivers.js';

const AT = new Date('2026-03-01T12:00:00Z');
const HASH = 'ab'.repeat(32);

/** An impostor as the gateway audits it: the policy tried two identities, `payments` came closest. */
function impostor(): AuditEvent {
  return buildAuditEvent({
    decision: {
      accept: false,
      reasons: [{ code: 'measurement_mismatch', message: 'no sgx identity matched' }],
      closest: { identity: 'payments' },
      policyHash: HASH,
    } as never,
    checks: [
      { identity: 'batch', failed: ['mrEnclave', 'mrSigner'], refused: [] },
      { identity: 'payments', failed: ['mrEnclave'], refused: [] },
    ],
    at: AT,
  });
}

describe('explainDecision: one reading of the decision trace', () => {
  it('a mismatch: the closest identity (decidedBy) and its differing fields (trace.policy[].f)', () => {
    const why = explainDecision(impostor());
    assert.equal(why.identity, 'payments');
    assert.deepEqual(why.differs, ['mrEnclave']);
    assert.equal(why.decidedBy, 'mrEnclave');
    assert.equal(why.text, 'payments differs in mrEnclave');
  });

  it('a refusal by a condition after the measurements matched: the conditions, no fields', () => {
    const ev = buildAuditEvent({
      decision: {
        accept: false,
        reasons: [{ code: 'debug_not_allowed', message: 'debug enclave' }],
        closest: { identity: 'payments' },
        policyHash: HASH,
      } as never,
      checks: [{ identity: 'payments', failed: [], refused: ['debug_not_allowed'] }],
      at: AT,
    });
    const why = explainDecision(ev);
    assert.deepEqual(why.differs, []);
    assert.deepEqual(why.conditions, ['debug_not_allowed']);
    assert.equal(why.text, 'payments matched, refused by debug_not_allowed');
  });

  it('a verification failure: the failed step and its code', () => {
    const ev = buildAuditEvent({
      error: { code: 'ERR_QUOTE_SIGNATURE', message: 'bad signature' } as never,
      at: AT,
    });
    const why = explainDecision(ev);
    assert.equal(why.failedStep?.code, 'ERR_QUOTE_SIGNATURE');
    assert.match(why.text, /failed: ERR_QUOTE_SIGNATURE$/);
  });

  it('an accept under a waiver names the waiver and its end', () => {
    const ev = buildAuditEvent({
      decision: {
        accept: true,
        identity: 'payments',
        policyHash: HASH,
        waivers: ['sa-00615'],
        validUntil: Date.parse('2026-04-01T00:00:00Z') / 1000,
      } as never,
      at: AT,
    });
    const why = explainDecision(ev);
    assert.deepEqual(why.waivers, ['sa-00615']);
    assert.equal(why.validUntil, '2026-04-01T00:00:00.000Z');
    assert.equal(why.text, 'accepted under waiver sa-00615 until 2026-04-01T00:00:00.000Z');
    const t = new Tally();
    t.add(ev);
    t.add(impostor());
    assert.deepEqual(t.summary().waived, { 'sa-00615': 1 });
  });

  it('an event from a file with a trace of the wrong shape: no throw, nothing invented, bounded', () => {
    // The report reads events from a file: its trace may be anything JSON can hold.
    const ev = impostor() as Omit<AuditEvent, 'trace'> & { trace?: unknown };
    const explain = () => explainDecision(ev as AuditEvent);
    for (const trace of [
      null,
      'x',
      [1, 2],
      { policy: 'payments', decidedBy: 7, steps: {} },
      { policy: [null, 5, { id: 'payments', f: 'mrEnclave' }], decidedBy: { identity: ['x'] } },
      { policy: [{ id: 'payments', f: [1, {}, 'x'.repeat(10_000)] }], decidedBy: { identity: 'payments' } },
    ]) {
      ev.trace = trace;
      const why = explain();
      assert.equal(why.identity, 'payments', JSON.stringify(trace).slice(0, 80));
      for (const f of why.differs) assert.ok(f.length <= 128);
      assert.ok(why.text.length <= 512);
    }
    ev.trace = { policy: [{ id: 'payments', f: [1, {}, 'x'.repeat(10_000)] }], decidedBy: { identity: 'payments' } };
    assert.deepEqual(explain().differs, ['x'.repeat(128)]);
    // No trace at all (an older log): the policy's explanation.
    delete ev.trace;
    assert.equal(explain().text, 'no sgx identity matched');
  });

  it('the live hub and the report hold the same entry for the same event', () => {
    const ev = impostor();
    const hub = new ConsoleHub();
    hub.ingest(ev);
    const report = new ReportBuilder();
    report.add(ev);
    assert.deepEqual(hub.recent()[0], consoleEntry(ev, eventId(ev)));
    assert.deepEqual(report.data().recent[0], hub.recent()[0]);
    hub.close();
  });
});

describe('reload history and waivers', () => {
  it('gathers the events of one reload (same instant) into one row with its parts', () => {
    const t = new Tally();
    const at = AT;
    t.add(buildPolicyReloadEvent({ ok: true, hash: 'cd'.repeat(32), source: 'a.yaml', at }));
    t.add(
      buildPolicyReloadEvent({
        ok: false,
        source: 'b.yaml',
        error: { code: 'ERR_POLICY_SCHEMA', message: 'b.yaml:3:1 bad' },
        at,
      }),
    );
    t.add(buildPolicyReloadEvent({ ok: true, hash: 'ef'.repeat(32), source: 'a.yaml', at: new Date(+at + 1000) }));
    const r = t.summary().reloads;
    assert.equal(r.length, 2);
    assert.equal(r[0]?.ok, false, 'a partial reload is not ok');
    assert.deepEqual(
      r[0]?.parts.map((p) => [p.ok, p.code]),
      [
        [true, undefined],
        [false, 'ERR_POLICY_SCHEMA'],
      ],
    );
    assert.equal(r[0]?.hash, 'cd'.repeat(32));
    assert.equal(r[1]?.ok, true);
    assert.equal(t.summary().policyHash, 'ef'.repeat(32));
  });

  it('lists the waivers in force, soonest first, expired ones marked (until is exclusive)', () => {
    const until = (iso: string) => Date.parse(iso) / 1000;
    const policies = new Map([
      [
        '/etc/ratls/policy.yaml',
        {
          waivers: [
            {
              name: 'late',
              tcbStatus: ['SWHardeningNeeded' as const],
              advisories: [],
              until: until('2026-06-01T00:00:00Z'),
              reason: 'r1',
            },
            {
              name: 'soon',
              identities: ['payments'],
              tcbStatus: [],
              advisories: ['INTEL-SA-00615'],
              until: until('2026-03-01T12:00:00Z'),
              reason: 'r2',
            },
          ],
        },
      ],
    ]);
    const rows = waiverRows(policies, AT.getTime());
    assert.deepEqual(
      rows.map((r) => [r.name, r.policy, r.identities, r.active]),
      [
        ['soon', 'policy.yaml', ['payments'], false],
        ['late', 'policy.yaml', [], true],
      ],
    );
    assert.equal(waiverRows(policies, AT.getTime() - 1)[0]?.active, true);
    const hub = new ConsoleHub({ waivers: (now) => waiverRows(policies, now) });
    assert.equal(hub.waivers(AT.getTime()).length, 2);
    assert.deepEqual(new ConsoleHub().waivers(AT.getTime()), []);
  });
});
