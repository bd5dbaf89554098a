import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { fakePeerVerification } from '@ratls/test-support/tls-testkit';
import fc from 'fast-check';
import type { Decision } from '../policy/types.js';
import { runCachedAppraisal } from './appraise.js';
import { TLS_ERRORS } from './errors.js';
import { createPeerVerifierCore, type PeerAuditInput, type PeerVerification } from './peer-verifier-core.js';
import type { PeerAppraiser, PeerContext, PeerDecision } from './types.js';

const T = 1_780_000_000; // unix seconds
const der = (n: number) => new Uint8Array([0x30, n]);
const ctx = (atSec: number, extra: Partial<PeerContext> = {}): PeerContext => ({
  at: atSec * 1000,
  peer: { ip: '127.0.0.1', port: 4000, role: 'client' },
  local: { ip: '127.0.0.1', port: 8443 },
  ...extra,
});
const ACCEPT: Decision = { accept: true, identity: 'app', policyHash: 'p', reasons: [] };
const OTHER: Decision = { accept: true, identity: 'other', policyHash: 'q', reasons: [] };
const REVOKED: Decision = {
  accept: false,
  policyHash: 'r',
  reasons: [{ code: 'measurement_mismatch', message: 'the policy no longer lists this enclave' }],
};

type Policy = 'accept' | 'other' | 'reject' | 'throw';

/**
 * A core over fixed inputs: certificate n verifies (unless n is 3, whose evidence fails) with a
 * collateral window ending at T + 100 * (n + 1); the policy is whatever `setPolicy` says now.
 */
function harness(o: { maxEntries?: number; channelFor?: string } = {}) {
  const events: PeerAuditInput[] = [];
  const calls = { verify: 0 };
  let policy: Policy = 'accept';
  const v = createPeerVerifierCore({
    async verify(d): Promise<PeerVerification> {
      calls.verify++;
      const n = d[1] ?? 0;
      if (n === 3) throw new RatlsError('ERR_CERT_NO_EVIDENCE', 'certificate', 'no evidence');
      return fakePeerVerification(T, T + 100 * (n + 1));
    },
    evaluate() {
      if (policy === 'throw') throw new Error('policy engine failed');
      return policy === 'accept' ? ACCEPT : policy === 'other' ? OTHER : REVOKED;
    },
    ...(o.channelFor
      ? { freshness: (d: Decision) => (d.accept && d.identity === o.channelFor ? 'channel' : 'certificate') }
      : {}),
    audit: { record: (e) => events.push(e) },
    cache: { maxEntries: o.maxEntries ?? 8 },
    appraisalTimeoutMs: 200,
    maxCertificateBytes: 1000,
  });
  return { v, events, calls, setPolicy: (p: Policy) => (policy = p) };
}

/** The TLS server's order: the synchronous path first, `appraise` for whatever it leaves. */
async function fastThenFull(
  a: PeerAppraiser,
  d: Uint8Array,
  c: PeerContext,
): Promise<{ d: PeerDecision; fast: boolean }> {
  const now = runCachedAppraisal(a, d, c);
  return now !== undefined ? { d: now, fast: true } : { d: await a.appraise(d, c), fast: false };
}

describe('appraiseCached: the synchronous decision on a cached result', () => {
  test('a miss decides nothing and records nothing; after appraise, the hit is the same decision and event', async () => {
    const { v, events } = harness();
    assert.equal(v.appraiseCached?.(der(1), ctx(T)), undefined);
    assert.equal(events.length, 0, 'a miss records no event: appraise will');
    const full = await v.appraise(der(1), ctx(T));
    const fast = v.appraiseCached?.(der(1), ctx(T));
    assert.deepEqual(fast, full);
    assert.equal(events.length, 2);
    assert.deepEqual(events[1], events[0]);
  });

  test('an expired cached result is not served: at the window end the fast path declines and appraise verifies again', async () => {
    const { v, calls } = harness();
    await v.appraise(der(0), ctx(T)); // window [T - 100, T + 100)
    assert.equal(v.appraiseCached?.(der(0), ctx(T + 99))?.accept, true);
    assert.equal(v.appraiseCached?.(der(0), ctx(T + 100)), undefined);
    await v.appraise(der(0), ctx(T + 100));
    assert.equal(calls.verify, 2);
  });

  test('a policy reload between connections applies to the very next cached decision', async () => {
    const { v, events, setPolicy } = harness();
    await v.appraise(der(1), ctx(T));
    setPolicy('reject');
    const d = v.appraiseCached?.(der(1), ctx(T + 1));
    assert.equal(d?.accept, false);
    assert.deepEqual(d?.decision, REVOKED);
    assert.equal(events.at(-1)?.decision?.accept, false);
    setPolicy('other');
    assert.equal(v.appraiseCached?.(der(1), ctx(T + 2))?.decision?.accept && 'other', 'other');
    assert.deepEqual(events.at(-1)?.decision, OTHER);
  });

  test('a failing policy rejects with the appraiser code, audited once', async () => {
    const { v, events, setPolicy } = harness();
    await v.appraise(der(1), ctx(T));
    setPolicy('throw');
    const d = v.appraiseCached?.(der(1), ctx(T));
    assert.equal(d?.error?.code, TLS_ERRORS.APPRAISER_FAILED);
    assert.equal(events.length, 2);
    assert.equal(events[1]?.error?.code, TLS_ERRORS.APPRAISER_FAILED);
  });

  test('cleared cache (a trust-anchor change), a nonce or an oversized certificate: never the fast path', async () => {
    const { v, events } = harness();
    await v.appraise(der(1), ctx(T));
    assert.equal(v.appraiseCached?.(der(1), ctx(T, { expectedNonce: new Uint8Array(32) })), undefined);
    const big = new Uint8Array(1001);
    big[0] = 0x30;
    assert.equal(v.appraiseCached?.(big, ctx(T)), undefined);
    v.clearCache();
    assert.equal(v.appraiseCached?.(der(1), ctx(T)), undefined);
    assert.equal(events.length, 1);
  });

  test('a channel-mode accept records no event on the fast path either (the channel step does)', async () => {
    const { v, events } = harness({ channelFor: 'app' });
    const full = await v.appraise(der(1), ctx(T));
    const fast = v.appraiseCached?.(der(1), ctx(T));
    assert.equal(fast?.freshness, 'channel');
    assert.deepEqual(fast, full);
    assert.equal(events.length, 0);
  });

  test('a throwing appraiseCached rejects with a stable code (runCachedAppraisal never throws)', () => {
    const a: PeerAppraiser = {
      appraise: () => Promise.reject(new Error('unused')),
      appraiseCached: () => {
        throw new Error('boom');
      },
    };
    assert.equal(runCachedAppraisal(a, der(1), ctx(T))?.error?.code, TLS_ERRORS.APPRAISER_FAILED);
    assert.equal(runCachedAppraisal({ appraise: a.appraise }, der(1), ctx(T)), undefined);
  });

  test('property: fast path first, appraise on a miss == appraise alone (decisions, events, verifications)', async () => {
    const step = fc.record({
      cert: fc.integer({ min: 0, max: 3 }),
      dt: fc.integer({ min: 0, max: 30 }),
      policy: fc.constantFrom<Policy>('accept', 'accept', 'other', 'reject', 'throw'),
      nonce: fc.constantFrom(false, false, false, true),
      clear: fc.boolean(),
    });
    let fastTaken = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 5, maxLength: 30, size: 'max' }),
        fc.integer({ min: 1, max: 3 }),
        async (steps, maxEntries) => {
          const ref = harness({ maxEntries, channelFor: 'other' });
          const sut = harness({ maxEntries, channelFor: 'other' });
          let at = T - 100;
          for (const s of steps) {
            at += s.dt;
            ref.setPolicy(s.policy);
            sut.setPolicy(s.policy);
            if (s.clear && s.dt > 27) {
              ref.v.clearCache();
              sut.v.clearCache();
            }
            const c = ctx(at, s.nonce ? { expectedNonce: new Uint8Array(32) } : {});
            const want = await ref.v.appraise(der(s.cert), c);
            const got = await fastThenFull(sut.v, der(s.cert), c);
            if (got.fast) fastTaken++;
            assert.deepEqual(got.d, want);
          }
          assert.deepEqual(sut.events, ref.events);
          assert.equal(sut.calls.verify, ref.calls.verify);
        },
      ),
      { numRuns: 200 },
    );
    assert.ok(fastTaken > 100, `the fast path was taken ${fastTaken} times`);
  });
});
