/** The vendor-chain certificate bound (MAX_CHAIN_CERT_BYTES), at the limit and one byte over. */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import { MAX_RATLS_CERT_BYTES, RatlsError } from '@ratls/evidence';
import { x509 } from '@ratls/test-support/x509';
import { MAX_CHAIN_CERT_BYTES, parseCertificate } from './certificate.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A well-formed self-signed certificate of exactly `size` DER bytes (padded by an unknown extension). */
async function certOfSize(size: number): Promise<Uint8Array> {
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  let pad = size - 400;
  // ECDSA signatures vary by a byte or two in DER, so re-sign until the length lands exactly.
  for (let i = 0; i < 50; i++) {
    const c = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=Chain Bound Test',
      keys,
      serialNumber: '01',
      notBefore: new Date('2030-01-01T00:00:00Z'),
      notAfter: new Date('2031-01-01T00:00:00Z'),
      signingAlgorithm: ALG,
      extensions: [new x509.Extension('1.3.6.1.4.1.55555.1', false, new Uint8Array(pad))],
    });
    const der = new Uint8Array(c.rawData);
    if (der.length === size) return der;
    pad += size - der.length;
  }
  throw new Error(`could not build a ${size}-byte certificate`);
}

describe('MAX_CHAIN_CERT_BYTES', () => {
  test('is its own, smaller bound than a peer RA-TLS certificate', () => {
    assert.equal(MAX_CHAIN_CERT_BYTES, 16 * 1024);
    assert.ok(MAX_CHAIN_CERT_BYTES < MAX_RATLS_CERT_BYTES);
  });

  test('a chain certificate of exactly the bound parses', async () => {
    const der = await certOfSize(MAX_CHAIN_CERT_BYTES);
    assert.equal(parseCertificate(der).der.length, MAX_CHAIN_CERT_BYTES);
  });

  test('one byte over is ERR_CERT_MALFORMED before parsing', async () => {
    const der = await certOfSize(MAX_CHAIN_CERT_BYTES + 1);
    assert.throws(
      () => parseCertificate(der),
      (e: unknown) => e instanceof RatlsError && e.code === 'ERR_CERT_MALFORMED' && /exceeds 16384/.test(e.message),
    );
  });
});
