import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { fakePeerVerification, fakeSgxResult } from '@ratls/test-support/tls-testkit';
import type { Decision } from '../policy/types.js';
import type { AttestationResult } from '../result.js';
import { TLS_ERRORS } from './errors.js';
import { createPeerVerifierCore, type PeerAuditInput, type PeerVerification } from './peer-verifier-core.js';

const T = 1_780_000_000; // unix seconds
const ctx = (atSec = T) => ({ at: atSec * 1000, peer: { ip: '127.0.0.1', port: 1, role: 'client' as const } });
const der = (n: number) => new Uint8Array([0x30, n]);
const ACCEPT: Decision = { accept: true, identity: 'app', policyHash: 'p', reasons: [] };

function harness(
  o: { windowEnd?: number; certEnd?: number; delayMs?: number; fail?: boolean; maxEntries?: number } = {},
) {
  const events: PeerAuditInput[] = [];
  const calls = { verify: 0, evaluate: 0 };
  let decision: Decision = ACCEPT;
  const v = createPeerVerifierCore({
    async verify(): Promise<PeerVerification> {
      calls.verify++;
      if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
      if (o.fail) throw new RatlsError('ERR_CERT_NO_EVIDENCE', 'certificate', 'no evidence');
      return fakePeerVerification(T, o.windowEnd ?? T + 1000, o.certEnd ?? T + 5000);
    },
    evaluate(_r: AttestationResult) {
      calls.evaluate++;
      return decision;
    },
    audit: { record: (e) => events.push(e) },
    cache: { maxEntries: o.maxEntries ?? 8 },
    appraisalTimeoutMs: 200,
    maxCertificateBytes: 1000,
  });
  return { v, events, calls, setDecision: (d: Decision) => (decision = d) };
}

describe('peer verifier core', () => {
  test('the TLS key getter reaches the certificate verification on a miss and is not read on a hit', async () => {
    const seen: unknown[] = [];
    let reads = 0;
    const key = () => {
      reads++;
      return undefined;
    };
    const v = createPeerVerifierCore({
      async verify(_der, o): Promise<PeerVerification> {
        seen.push(o.peerPublicKey);
        o.peerPublicKey?.();
        return fakePeerVerification(T, T + 1000);
      },
      evaluate: () => ACCEPT,
    });
    assert.equal((await v.appraise(der(7), { ...ctx(), peerPublicKey: key })).accept, true);
    assert.equal((await v.appraise(der(7), { ...ctx(), peerPublicKey: key })).accept, true);
    assert.deepEqual(seen, [key]);
    assert.equal(reads, 1, 'a cache hit does not decode the TLS key');
    await v.appraise(der(8), { ...ctx(), expectedNonce: new Uint8Array(32), peerPublicKey: key });
    assert.deepEqual(seen, [key, key], 'the nonce path passes it too');
  });

  test('caches the verified result until the collateral window ends; policy runs every time', async () => {
    const h = harness({ windowEnd: T + 10, certEnd: T + 5000 });
    assert.equal((await h.v.appraise(der(1), ctx())).accept, true);
    assert.equal((await h.v.appraise(der(1), ctx(T + 5))).accept, true);
    assert.deepEqual(h.calls, { verify: 1, evaluate: 2 });
    h.setDecision({ accept: false, policyHash: 'p2', reasons: [{ code: 'measurement_mismatch', message: 'no' }] });
    const d = await h.v.appraise(der(1), ctx(T + 6));
    assert.equal(d.accept, false);
    assert.equal(h.calls.verify, 1, 'a policy change re-judges the cached result');
    await h.v.appraise(der(1), ctx(T + 10));
    assert.equal(h.calls.verify, 2, 'window end reached: verified again');
    assert.equal(h.events.length, 4);
  });

  test('the certificate notAfter bounds the cache too', async () => {
    const h = harness({ windowEnd: T + 5000, certEnd: T + 3 });
    await h.v.appraise(der(1), ctx());
    await h.v.appraise(der(1), ctx(T + 3));
    assert.equal(h.calls.verify, 2);
  });

  test('concurrent appraisals of one certificate share one verification', async () => {
    const h = harness({ delayMs: 30 });
    const ds = await Promise.all([1, 2, 3, 4].map(() => h.v.appraise(der(7), ctx())));
    assert.ok(ds.every((d) => d.accept));
    assert.equal(h.calls.verify, 1);
    assert.equal(h.events.length, 4, 'one audit event per decision, not per verification');
  });

  test('bounded LRU; failures are not cached and become typed rejects', async () => {
    const h = harness({ maxEntries: 2 });
    for (const n of [1, 2, 3]) await h.v.appraise(der(n), ctx());
    assert.equal(h.v.cacheSize, 2);
    const f = harness({ fail: true });
    const d1 = await f.v.appraise(der(1), ctx());
    await f.v.appraise(der(1), ctx());
    assert.deepEqual(d1.error?.code, 'ERR_CERT_NO_EVIDENCE');
    assert.equal(f.calls.verify, 2);
    assert.equal(f.v.cacheSize, 0);
  });

  test('oversized certificate, slow verification and an aborted connection reject with their codes', async () => {
    const h = harness({ delayMs: 400 });
    assert.equal((await h.v.appraise(new Uint8Array(1001), ctx())).error?.code, TLS_ERRORS.CERTIFICATE_TOO_LARGE);
    assert.equal((await h.v.appraise(der(1), ctx())).error?.code, TLS_ERRORS.APPRAISAL_TIMEOUT);
    const ac = new AbortController();
    const p = h.v.appraise(der(2), { ...ctx(), signal: ac.signal });
    ac.abort(new RatlsError(TLS_ERRORS.HANDSHAKE_TIMEOUT, 'tls', 'deadline'));
    assert.equal((await p).error?.code, TLS_ERRORS.HANDSHAKE_TIMEOUT);
    assert.deepEqual(
      h.events.map((e) => e.error?.code),
      [TLS_ERRORS.CERTIFICATE_TOO_LARGE, TLS_ERRORS.APPRAISAL_TIMEOUT, TLS_ERRORS.HANDSHAKE_TIMEOUT],
    );
  });

  test('a nonce bypasses the cache', async () => {
    const h = harness();
    await h.v.appraise(der(1), { ...ctx(), expectedNonce: new Uint8Array([1]) });
    await h.v.appraise(der(1), { ...ctx(), expectedNonce: new Uint8Array([1]) });
    assert.equal(h.calls.verify, 2);
    assert.equal(h.v.cacheSize, 0);
  });

  test('a throwing audit sink does not change the decision', async () => {
    const v = createPeerVerifierCore({
      verify: async () => ({
        result: fakeSgxResult(),
        certificate: { fingerprintSha256: 'x', notBefore: 0, notAfter: T * 2, subject: '', formats: [] },
        binding: { formats: [] },
      }),
      evaluate: () => ACCEPT,
      audit: {
        record() {
          throw new Error('disk full');
        },
      },
    });
    assert.equal((await v.appraise(der(1), ctx())).accept, true);
  });
});
