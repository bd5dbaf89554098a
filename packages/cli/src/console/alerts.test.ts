import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '@ratls/test-support/gateway-helpers';
import { type AuditEvent, buildAuditEvent } from '@ratls/verifier';
import { type AlertBatch, Alerter, DEFAULT_ALERTS } from './alerts.js';
import { explainDecision } from './explain.js';
import { eventId } from './tally.js';

const AT = Date.parse('2026-03-01T12:00:00Z');

function impostor(i: number): AuditEvent {
  return buildAuditEvent({
    decision: {
      accept: false,
      reasons: [{ code: 'measurement_mismatch', message: 'mrEnclave cccccccc… is not aaaaaaaa…' }],
      closest: { identity: 'payments' },
      policyHash: 'ab'.repeat(32),
    } as never,
    peer: { ip: '10.0.0.9', port: 40000 + i },
    listener: 'api',
    at: new Date(AT + i),
  });
}

async function receiver(answer: (n: number) => number) {
  const batches: AlertBatch[] = [];
  let n = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => {
      body += c.toString();
    });
    req.on('end', () => {
      const status = answer(n++);
      if (status === 200) batches.push(JSON.parse(body));
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    batches,
    requests: () => n,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

describe('alerts', () => {
  it('a burst of ten impostors reaches the webhook as one batch, each alert with its audit event id, without blocking', async () => {
    const rx = await receiver(() => 200);
    const alerts = new Alerter({ ...DEFAULT_ALERTS, webhook: rx.url, batchMs: 200 });
    try {
      const evs = Array.from({ length: 10 }, (_, i) => impostor(i));
      const t0 = process.hrtime.bigint();
      for (const ev of evs) alerts.offer(ev);
      const offerUs = Number(process.hrtime.bigint() - t0) / 1000;
      console.log(`alerts: 10 offers took ${offerUs.toFixed(0)} µs in all (queue only, no I/O)`);
      // Generous: the point is that offer() does no I/O (a POST alone is milliseconds).
      assert.ok(offerUs < 50_000, `offer blocked for ${offerUs} µs`);
      assert.equal(rx.requests(), 0);
      for (let i = 0; i < 100 && rx.batches.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(rx.batches.length, 1);
      const b = rx.batches[0] as AlertBatch;
      assert.equal(b.count, 10);
      assert.deepEqual(
        b.alerts.map((a) => a.id),
        evs.map(eventId),
      );
      assert.equal(b.alerts[0]?.closest, 'payments');
    } finally {
      await alerts.close();
      await rx.close();
    }
  });

  it('ignores accepted decisions and reasons not chosen', async () => {
    const dir = tempDir('ratls-alerts-');
    const file = join(dir, 'alerts.jsonl');
    const alerts = new Alerter({ ...DEFAULT_ALERTS, file, batchMs: 10 });
    alerts.offer(buildAuditEvent({ decision: { accept: true, identity: 'payments', policyHash: 'ab' } as never }));
    alerts.offer(
      buildAuditEvent({
        decision: { accept: false, reasons: [{ code: 'debug_not_allowed', message: 'x' }], policyHash: 'ab' } as never,
      }),
    );
    alerts.offer(impostor(1));
    await alerts.close();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 1);
    const b = JSON.parse(lines[0] as string) as AlertBatch;
    assert.deepEqual(
      b.alerts.map((a) => a.reason),
      ['measurement_mismatch'],
    );
  });

  it('retries a failing webhook with backoff until it answers', async () => {
    const rx = await receiver((n) => (n < 2 ? 503 : 200));
    const alerts = new Alerter({ ...DEFAULT_ALERTS, webhook: rx.url, batchMs: 10 });
    try {
      alerts.offer(impostor(3));
      await alerts.flush();
      assert.equal(rx.requests(), 3);
      assert.equal(rx.batches.length, 1);
    } finally {
      await alerts.close();
      await rx.close();
    }
  });

  it('rate-limits batches: past the limit, alerts wait and gather', async () => {
    const dir = tempDir('ratls-alerts-');
    const file = join(dir, 'alerts.jsonl');
    const alerts = new Alerter({ ...DEFAULT_ALERTS, file, batchMs: 5, maxBatchesPerMinute: 2 });
    for (let i = 0; i < 4; i++) {
      alerts.offer(impostor(i));
      await new Promise((r) => setTimeout(r, 30));
    }
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    await alerts.close();
    assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);
  });

  it('names the closest identity as explainDecision reads it, so the console and ratls report say the same', async () => {
    const dir = tempDir('ratls-alerts-');
    const file = join(dir, 'alerts.jsonl');
    const alerts = new Alerter({ ...DEFAULT_ALERTS, file, batchMs: 10 });
    const traced = buildAuditEvent({
      decision: {
        accept: false,
        reasons: [{ code: 'measurement_mismatch', message: 'mrEnclave cccc… not in payments' }],
        closest: { identity: 'signer-family' },
        policyHash: 'ab'.repeat(32),
      } as never,
      checks: [
        { identity: 'payments', failed: ['mrEnclave'], refused: [] },
        { identity: 'signer-family', failed: ['isvSvn'], refused: [] },
      ],
      at: new Date(AT),
    });
    // An older gateway's log line: no trace, only the attestation's closest_identity.
    const untraced = impostor(2);
    delete untraced.trace;
    // A trace naming the closest identity with no attestation field for it: the trace decides.
    const traceOnly = structuredClone(traced);
    delete traceOnly.attestation?.closest_identity;
    const evs = [traced, untraced, traceOnly];
    for (const ev of evs) alerts.offer(ev);
    await alerts.close();
    const b = JSON.parse(readFileSync(file, 'utf8').trim()) as AlertBatch;
    assert.deepEqual(
      b.alerts.map((a) => a.closest),
      evs.map((ev) => explainDecision(ev).identity),
    );
    assert.deepEqual(
      b.alerts.map((a) => a.closest),
      ['signer-family', 'payments', 'signer-family'],
    );
  });
});
