import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nitroDocumentFromText, parseNitroDocument, RatlsError } from '@ratls/evidence';
import { simNitroChain, simNitroDoc } from '@ratls/test-support/nitro-testkit';
import { readVector, readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { decode, encode } from 'cbor2';
import { isVerifiedResult } from '../result.js';
import { intelSgxRootCa, trustAnchorFrom } from '../trust.js';
import { AWS_NITRO_ROOT_G1_SHA256, awsNitroRootG1 } from './root.js';
import { verifyNitroDocument } from './verify.js';

const BETA = 'nitro/evervault/test-data/beta/valid-attestation-doc-bytes';
const DEBUG = 'nitro/evervault/test-data/beta/debug-mode-attestation-doc-bytes';
const GA = 'nitro/evervault/test-data/valid-attestation-doc-base64';
const BASE_OK = 'nitro/base-nitro-validator/hinted_real_attestation_repaired.DERIVED.b64';
const BASE_BAD = 'nitro/base-nitro-validator/hinted_real_attestation_verbatim.b64';
function flip(b: Uint8Array, i: number): void {
  b[i] = (b[i] as number) ^ 1;
}
const sec = (iso: string): number => Date.parse(iso) / 1000;

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

test('nitro root: pinned G1 equals the vector file and its published fingerprint', { skip: SKIP_NO_VECTORS }, () => {
  const fromFile = trustAnchorFrom(readVectorText('roots/aws_nitro_root_g1.pem'));
  assert.equal(awsNitroRootG1().sha256, AWS_NITRO_ROOT_G1_SHA256);
  assert.deepEqual(awsNitroRootG1().der, fromFile.der);
});

test('nitro: evervault beta document verifies at its timestamp', { skip: SKIP_NO_VECTORS }, async () => {
  const r = await verifyNitroDocument(readVector(BETA), { at: 1665651482 });
  assert.ok(isVerifiedResult(r));
  assert.equal(r.tee, 'nitro');
  assert.equal(r.debug, false);
  assert.equal(r.simulated, false);
  assert.equal(r.measurements.moduleId, 'i-020b6af9246d90e92-enc0183d09086c24190');
  assert.ok(r.measurements.pcrs['0']?.startsWith('f4d48b81'));
  assert.equal(r.measurements.timestamp, 1665651482);
  assert.equal(r.measurements.nonce?.length, 512);
  assert.deepEqual(r.collateralWindow, {
    notBefore: sec('2022-10-13T08:57:59Z'),
    notAfter: sec('2022-10-13T11:58:02Z'),
  });
});

test('nitro: outside the chain window fails with the expiry code', { skip: SKIP_NO_VECTORS }, async () => {
  const doc = readVector(BETA);
  assert.equal(await code(verifyNitroDocument(doc, { at: sec('2022-10-13T11:58:03Z') })), 'ERR_NITRO_CERT_EXPIRED');
  assert.equal(await code(verifyNitroDocument(doc, { at: sec('2022-10-13T08:57:58Z') })), 'ERR_NITRO_CERT_EXPIRED');
  assert.equal(await code(verifyNitroDocument(doc, { at: new Date() })), 'ERR_NITRO_CERT_EXPIRED');
});

test('nitro: debug-mode document verifies and reports debug', { skip: SKIP_NO_VECTORS }, async () => {
  const r = await verifyNitroDocument(readVector(DEBUG), { at: new Date(1665582606081) });
  assert.equal(r.debug, true);
  for (const i of ['0', '1', '2']) assert.match(r.measurements.pcrs[i] ?? '', /^0+$/);
  assert.equal(Buffer.from(r.measurements.userData ?? '', 'hex').toString(), 'hello, world!');
  assert.equal(Buffer.from(r.measurements.publicKey ?? '', 'hex').toString(), 'my super secret key');
});

test('nitro: GA base64 document verifies at the upstream time; user_data is the certificate SPKI', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const r = await verifyNitroDocument(nitroDocumentFromText(readVectorText(GA)), { at: 1695050165 });
  assert.equal(r.debug, true);
  assert.deepEqual(r.collateralWindow, {
    notBefore: sec('2023-09-18T14:37:09Z'),
    notAfter: sec('2023-09-18T17:37:12Z'),
  });
  const { X509Certificate } = await import('node:crypto');
  const spki = new X509Certificate(readVector('nitro/evervault/test-data/valid-certificate.der')).publicKey.export({
    type: 'spki',
    format: 'der',
  });
  assert.equal(r.measurements.userData, spki.toString('hex'));
});

test('nitro: base verbatim fails to decode (typed); repaired verifies at 1767472867', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  assert.equal(
    await code(verifyNitroDocument(nitroDocumentFromText(readVectorText(BASE_BAD)), { at: 1767472867 })),
    'ERR_NITRO_CBOR_INVALID',
  );
  const r = await verifyNitroDocument(nitroDocumentFromText(readVectorText(BASE_OK)), { at: 1767472867 });
  assert.equal(r.measurements.moduleId, 'i-0368fa67e156d6d23-enc019b8596b1a9dad6');
  assert.ok(r.measurements.pcrs['0']?.startsWith('4b8d4cf2'));
});

test('nitro: flipped signature byte fails', { skip: SKIP_NO_VECTORS }, async () => {
  const doc = new Uint8Array(readVector(BETA));
  flip(doc, doc.length - 1);
  assert.equal(await code(verifyNitroDocument(doc, { at: 1665651482 })), 'ERR_NITRO_SIGNATURE');
  const payloadFlip = new Uint8Array(readVector(BETA));
  const d = parseNitroDocument(payloadFlip);
  // Flip a byte inside PCR0 (payload is signed; the chain is unaffected).
  const idx = Buffer.from(payloadFlip).indexOf(Buffer.from(d.pcrs.get(0) as Uint8Array));
  flip(payloadFlip, idx);
  assert.equal(await code(verifyNitroDocument(payloadFlip, { at: 1665651482 })), 'ERR_NITRO_SIGNATURE');
});

test('nitro: a cabundle with a different root fails', { skip: SKIP_NO_VECTORS }, async () => {
  const doc = readVector(BETA);
  assert.equal(
    await code(verifyNitroDocument(doc, { at: 1665651482, trustAnchors: [intelSgxRootCa()] })),
    'ERR_NITRO_ROOT_UNTRUSTED',
  );
  // Swap cabundle[0] for another self-signed root inside the (re-encoded) payload.
  const cose = decode(doc, { preferMap: true }) as [Uint8Array, Map<unknown, unknown>, Uint8Array, Uint8Array];
  const payload = decode(cose[2], { preferMap: true }) as Map<string, unknown>;
  const cab = payload.get('cabundle') as Uint8Array[];
  payload.set('cabundle', [intelSgxRootCa().der, ...cab.slice(1)]);
  const swapped = encode([cose[0], cose[1], encode(payload), cose[3]]);
  assert.equal(await code(verifyNitroDocument(swapped, { at: 1665651482 })), 'ERR_NITRO_ROOT_UNTRUSTED');
});

test('nitro: nonce check', { skip: SKIP_NO_VECTORS }, async () => {
  const doc = readVector(BETA);
  const nonce = parseNitroDocument(doc).nonce as Uint8Array;
  await verifyNitroDocument(doc, { at: 1665651482, expectedNonce: nonce });
  const other = new Uint8Array(nonce);
  flip(other, 0);
  assert.equal(
    await code(verifyNitroDocument(doc, { at: 1665651482, expectedNonce: other })),
    'ERR_NITRO_NONCE_MISMATCH',
  );
});

test('nitro: simulated hierarchy: chain, CA, curve, timestamp and nonce checks', async () => {
  const at = sec('2024-01-01T02:00:00Z');
  const sim = await simNitroChain();
  const anchors = [sim.rootDer];
  const r = await verifyNitroDocument(await simNitroDoc(sim), { at, trustAnchors: anchors });
  assert.equal(r.debug, false);
  assert.deepEqual(r.collateralWindow, {
    notBefore: sec('2024-01-01T01:00:00Z'),
    notAfter: sec('2024-01-01T04:00:00Z'),
  });
  const zero = await simNitroDoc(sim, { pcr0: new Uint8Array(48) });
  assert.equal((await verifyNitroDocument(zero, { at, trustAnchors: anchors })).debug, true);
  // Default anchors (AWS root) refuse the simulated root.
  assert.equal(await code(verifyNitroDocument(await simNitroDoc(sim), { at })), 'ERR_NITRO_ROOT_UNTRUSTED');
  // Document timestamp outside the leaf validity.
  const late = await simNitroDoc(sim, { timestamp: Date.parse('2024-01-01T05:00:00Z') });
  assert.equal(await code(verifyNitroDocument(late, { at, trustAnchors: anchors })), 'ERR_NITRO_TIMESTAMP');
  // Missing intermediate: leaf does not chain to the root.
  const gap = await simNitroDoc(sim, { cabundle: [sim.rootDer] });
  assert.equal(await code(verifyNitroDocument(gap, { at, trustAnchors: anchors })), 'ERR_NITRO_CHAIN');
  // No nonce when one is expected.
  const noNonce = await simNitroDoc(sim, { nonce: null });
  assert.equal(
    await code(verifyNitroDocument(noNonce, { at, trustAnchors: anchors, expectedNonce: new Uint8Array([1]) })),
    'ERR_NITRO_NONCE_MISMATCH',
  );
  // Intermediate that is not a CA.
  const notCa = await simNitroChain({ interIsCa: false });
  assert.equal(
    await code(verifyNitroDocument(await simNitroDoc(notCa), { at, trustAnchors: [notCa.rootDer] })),
    'ERR_NITRO_CHAIN',
  );
  // Leaf key on the wrong curve.
  const p256 = await simNitroChain({ leafCurve: 'P-256' });
  assert.equal(
    await code(verifyNitroDocument(await simNitroDoc(p256), { at, trustAnchors: [p256.rootDer] })),
    'ERR_NITRO_CERT_INVALID',
  );
  assert.equal(await code(verifyNitroDocument(await simNitroDoc(sim), { at: Number.NaN })), 'ERR_AT_INVALID');
});

test('nitro: verified-chain cache reuses work and still checks time, anchors and signature', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const { VerifiedChainCache } = await import('../cache/lru.js');
  const cache = new VerifiedChainCache();
  const doc = readVector(BETA);
  await verifyNitroDocument(doc, { at: 1665651482, chainCache: cache });
  await verifyNitroDocument(doc, { at: 1665651483, chainCache: cache });
  assert.equal(cache.hits, 1);
  assert.equal(
    await code(verifyNitroDocument(doc, { at: sec('2022-10-13T11:58:03Z'), chainCache: cache })),
    'ERR_NITRO_CERT_EXPIRED',
  );
  assert.equal(
    await code(verifyNitroDocument(doc, { at: 1665651482, chainCache: cache, trustAnchors: [intelSgxRootCa()] })),
    'ERR_NITRO_ROOT_UNTRUSTED',
  );
  const bad = new Uint8Array(doc);
  flip(bad, bad.length - 1);
  assert.equal(await code(verifyNitroDocument(bad, { at: 1665651482, chainCache: cache })), 'ERR_NITRO_SIGNATURE');
});

test('nitro: documents embedded in the evervault beta TLS certificates verify at the upstream time', {
  skip: SKIP_NO_VECTORS,
}, async () => {
  const { X509Certificate } = await import('node:crypto');
  const { parseRatlsCertificate, toHex } = await import('@ratls/evidence');
  const dir = 'nitro/evervault/';
  const specs = [
    [
      'test-data/beta/debug-mode-cert-containing-attestation-doc-18-1-23.pem',
      'test-specs/beta/valid_attestation_doc_in_cert_time_sensitive.json',
      true,
    ],
    [
      'test-data/beta/non-debug-cert-containing-attestation-document-18-1-23.pem',
      'test-specs/beta/valid_attestation_doc_in_non_debug_mode_with_correct_pcrs_time_sensitive.json',
      false,
    ],
  ] as const;
  for (const [certFile, specFile, debug] of specs) {
    const der = new Uint8Array(new X509Certificate(readVectorText(dir + certFile)).raw);
    const parts = parseRatlsCertificate(der);
    const ev = parts.evidence.find((e) => e.format.includes('nitro'));
    assert.ok(ev, `no Nitro evidence found in ${certFile}`);
    const r = await verifyNitroDocument(ev.evidence, { at: 1674054914 });
    assert.equal(r.debug, debug);
    assert.equal(r.measurements.userData, toHex(parts.spkiDer));
    const spec = JSON.parse(readVectorText(dir + specFile)) as { pcrs: Record<string, string> };
    for (const [k, v] of Object.entries(spec.pcrs))
      assert.equal(r.measurements.pcrs[k.replace('pcr', '')], v, `${certFile} ${k}`);
  }
});
