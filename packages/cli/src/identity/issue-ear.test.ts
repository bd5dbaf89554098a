import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forgeVerifiedResult } from '@ratls/test-support/forge';
import { fakeSgxResult, makeSelfSigned } from '@ratls/test-support/tls-testkit';
import type { PeerDecision, SgxResult } from '@ratls/verifier';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { EarKeyRing } from './ear-keys.js';
import { EAR_PROFILE, earStatus, earStatuses, issueEar } from './issue-ear.js';

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);
const AT_SEC = AT / 1000;
const ISS = 'https://gateway.example.org';

async function setup(o: { tcb?: SgxResult['tcbStatus']; freshness?: 'channel' | 'certificate' } = {}) {
  const peer = await makeSelfSigned('enclave', AT - 60_000);
  const base = fakeSgxResult('cc'.repeat(32));
  const result = o.tcb ? forgeVerifiedResult<SgxResult>({ ...structuredClone(base), tcbStatus: o.tcb }) : base;
  const decision: PeerDecision = {
    accept: true,
    result,
    decision: { accept: true, identity: 'payments', policyHash: 'dd'.repeat(32), reasons: [] },
    certificate: { fingerprintSha256: peer.fingerprint, notBefore: 0, notAfter: 0, subject: 'CN=enclave', formats: [] },
    freshness: o.freshness ?? 'channel',
  };
  const ring = new EarKeyRing(3600);
  await ring.rotate(AT_SEC - 10);
  return { peer, decision, ring };
}

const verifyAt = (jwt: string, ring: EarKeyRing, atSec: number, audience = 'vault') =>
  jwtVerify(jwt, createLocalJWKSet(ring.jwks(atSec)), {
    issuer: ISS,
    audience,
    currentDate: new Date(atSec * 1000),
    algorithms: ['ES256'],
  });

async function rejectsCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => (e as { code?: string }).code === code);
}

test('an accepted channel-bound enclave gets an EAR that verifies with jose against the JWKS', async () => {
  const { peer, decision, ring } = await setup();
  const jwt = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT,
    ttlSec: 300,
    nonce: 'bm9uY2Utbm9uY2U',
  });
  const { payload, protectedHeader } = await verifyAt(jwt, ring, AT_SEC + 10);
  assert.equal(protectedHeader.kid, ring.current()?.kid);
  assert.equal(protectedHeader.alg, 'ES256');
  assert.equal(payload.sub, 'payments');
  assert.equal(payload.iat, AT_SEC);
  assert.equal(payload.exp, AT_SEC + 300);
  assert.equal(typeof payload.jti, 'string');
  assert.equal(payload.eat_profile, EAR_PROFILE);
  assert.equal(payload.eat_nonce, 'bm9uY2Utbm9uY2U');
  const sub = (payload.submods as Record<string, Record<string, unknown>>).payments;
  assert.ok(sub);
  assert.equal(sub.ear_status, 'affirming');
  assert.deepEqual(sub.ear_appraisal_policy_ids, [`sha256:${'dd'.repeat(32)}`]);
  assert.equal((sub.ear_attester_claims as Record<string, string>).measurement, 'cc'.repeat(32));
  assert.equal((sub.ear_trustworthiness_vector as Record<string, number>).hardware, 2);
  // cnf binds the token to the enclave's own TLS key (RFC 7800 §3.2).
  const cnf = payload.cnf as { jwk: { kty: string; crv: string } };
  assert.equal(cnf.jwk.kty, 'EC');
  assert.equal(cnf.jwk.crv, 'P-256');
  // A token for one relying party is useless at another.
  await rejectsCode(verifyAt(jwt, ring, AT_SEC + 10, 'postgres'), 'ERR_JWT_CLAIM_VALIDATION_FAILED');
});

test('an altered token fails', async () => {
  const { peer, decision, ring } = await setup();
  const jwt = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT,
    ttlSec: 300,
  });
  const [h, p, s] = jwt.split('.');
  const claims = decodeJwt(jwt);
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url');
  await rejectsCode(verifyAt(`${h}.${forged}.${s}`, ring, AT_SEC + 10), 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED');
  assert.ok(p);
});

test('an expired token fails', async () => {
  const { peer, decision, ring } = await setup();
  const jwt = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT,
    ttlSec: 300,
  });
  await rejectsCode(verifyAt(jwt, ring, AT_SEC + 301), 'ERR_JWT_EXPIRED');
});

test('rotation: the old key verifies during the overlap, a retired key fails at once', async () => {
  const { peer, decision, ring } = await setup();
  const oldKid = ring.current()?.kid ?? '';
  const jwt = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT,
    ttlSec: 300,
  });
  await ring.rotate(AT_SEC + 1);
  assert.notEqual(ring.current()?.kid, oldKid);
  assert.equal(ring.jwks(AT_SEC + 2).keys.length, 2);
  await verifyAt(jwt, ring, AT_SEC + 2);
  assert.equal(ring.jwks(AT_SEC + 1 + 3600).keys.length, 1, 'the replaced key leaves after the overlap');
  const newer = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT + 2000,
    ttlSec: 300,
  });
  assert.equal(decodeProtectedHeader(newer).kid, ring.current()?.kid);
  ring.retire(oldKid);
  await rejectsCode(verifyAt(jwt, ring, AT_SEC + 2), 'ERR_JWKS_NO_MATCHING_KEY');
});

test('the status is warning for an accepted OutOfDate TCB', async () => {
  const { peer, decision, ring } = await setup({ tcb: 'OutOfDate' });
  const jwt = await issueEar(ring, {
    decision,
    peerCertDer: peer.der,
    audience: 'vault',
    issuer: ISS,
    at: AT,
    ttlSec: 300,
  });
  const { payload } = await verifyAt(jwt, ring, AT_SEC + 10);
  assert.deepEqual(earStatuses(payload), { payments: 'warning' });
  assert.equal(earStatus(false, 'UpToDate'), 'contraindicated');
  assert.equal(earStatus(true, 'UpToDate'), 'affirming');
});

test('a certificate-mode decision gets no token; bad audience or nonce is refused', async () => {
  const cert = await setup({ freshness: 'certificate' });
  await rejectsCode(
    issueEar(cert.ring, {
      decision: cert.decision,
      peerCertDer: cert.peer.der,
      audience: 'vault',
      issuer: ISS,
      at: AT,
      ttlSec: 300,
    }),
    'ERR_IDENTITY_NOT_CHANNEL_BOUND',
  );
  const { peer, decision, ring } = await setup();
  const base = { decision, peerCertDer: peer.der, issuer: ISS, at: AT, ttlSec: 300 };
  await rejectsCode(issueEar(ring, { ...base, audience: '' }), 'ERR_IDENTITY_TOKEN_INVALID');
  await rejectsCode(
    issueEar(ring, { ...base, audience: 'vault', nonce: 'x'.repeat(89) }),
    'ERR_IDENTITY_TOKEN_INVALID',
  );
  await rejectsCode(issueEar(new EarKeyRing(60), { ...base, audience: 'vault' }), 'ERR_IDENTITY_TOKEN_INVALID');
});

test('older dotted EAR claim names are read too', () => {
  assert.deepEqual(earStatuses({ submods: { a: { 'ear.status': 'affirming' }, b: { ear_status: 'warning' }, c: 3 } }), {
    a: 'affirming',
    b: 'warning',
  });
});
