import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { channelDecision } from '@ratls/test-support/identity';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { EarKeyRing } from './ear-keys.js';
import { issueEar } from './issue-ear.js';
import { MAX_JWKS_DOCUMENTS, mergeJwks } from './merge-jwks.js';

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);
const AT_SEC = AT / 1000;
let enclave: TestCredentials;
let ringA: EarKeyRing;
let ringB: EarKeyRing;

function isCode(c: string) {
  return (e: unknown) => e instanceof RatlsError && e.code === c;
}

async function tokenFrom(ring: EarKeyRing, iss: string): Promise<string> {
  return issueEar(ring, {
    decision: channelDecision(enclave),
    peerCertDer: enclave.der,
    audience: 'vault',
    issuer: iss,
    at: AT,
    ttlSec: 300,
  });
}

before(async () => {
  enclave = await makeSelfSigned('enclave', AT - 60_000);
  ringA = new EarKeyRing(3600);
  ringB = new EarKeyRing(3600);
  await ringA.rotate(AT_SEC - 7200);
  await ringA.rotate(AT_SEC - 60); // A's previous key is still in overlap
  await ringB.rotate(AT_SEC - 60);
});

test("a relying party verifies both gateways' tokens against the merged JWKS", async () => {
  const merged = mergeJwks([ringA.jwks(AT_SEC), ringB.jwks(AT_SEC)]);
  assert.equal(merged.keys.length, 3);
  const keys = createLocalJWKSet(merged);
  for (const [ring, iss] of [
    [ringA, 'https://gw-a.example.org'],
    [ringB, 'https://gw-b.example.org'],
  ] as const) {
    const { payload } = await jwtVerify(await tokenFrom(ring, iss), keys, {
      audience: 'vault',
      issuer: iss,
      currentDate: new Date(AT + 1000),
    });
    assert.equal(payload.sub, 'payments');
  }
  // One gateway's JWKS alone does not verify the other's tokens: the union is needed.
  await assert.rejects(
    jwtVerify(await tokenFrom(ringB, 'https://gw-b.example.org'), createLocalJWKSet(ringA.jwks(AT_SEC)), {
      currentDate: new Date(AT + 1000),
    }),
    (e: unknown) => (e as { code?: string }).code === 'ERR_JWKS_NO_MATCHING_KEY',
  );
});

test('the same gateway fetched twice is deduplicated by kid', () => {
  const a = ringA.jwks(AT_SEC);
  assert.deepEqual(mergeJwks([a, structuredClone(a), ringB.jwks(AT_SEC)]).keys.length, 3);
});

test('attacker: one kid with a different key is refused (ERR_IDENTITY_JWKS_CONFLICT)', () => {
  const a = ringA.jwks(AT_SEC);
  const b = ringB.jwks(AT_SEC);
  const impostor = { keys: [{ ...b.keys[0], kid: a.keys[0]?.kid }] };
  assert.throws(() => mergeJwks([a, impostor]), isCode('ERR_IDENTITY_JWKS_CONFLICT'));
  // Same key, one member changed (alg) is also a different key under that kid.
  const altered = { keys: [{ ...a.keys[0], alg: 'ES384' }] };
  assert.throws(() => mergeJwks([a, altered]), isCode('ERR_IDENTITY_JWKS_CONFLICT'));
});

test('not a JWKS, a key without kid, a private member, too many documents: ERR_IDENTITY_JWKS_INVALID', () => {
  const a = ringA.jwks(AT_SEC);
  const k = a.keys[0] ?? {};
  for (const bad of [
    [null],
    [{ keys: 'x' }],
    [{ keys: [null] }],
    [{ keys: [{ ...k, kid: undefined }] }],
    [{ keys: [{ ...k, kty: undefined }] }],
    [{ keys: [{ ...k, d: 'AAAA' }] }],
    Array.from({ length: MAX_JWKS_DOCUMENTS + 1 }, () => a),
  ]) {
    assert.throws(() => mergeJwks(bad), isCode('ERR_IDENTITY_JWKS_INVALID'));
  }
});
