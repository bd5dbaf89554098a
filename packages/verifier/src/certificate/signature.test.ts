import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, webcrypto, X509Certificate } from 'node:crypto';
import { describe, test } from 'node:test';
import { RatlsError } from '@ratls/evidence';
import { x509 } from '@ratls/test-support/x509';
import { checkSelfSigned, selfSignatureKey } from './signature.js';
import { x509Parts } from './x509-parts.js';

type Alg = { name: 'ECDSA'; namedCurve: 'P-256' | 'P-384'; hash: 'SHA-256' | 'SHA-384' } | typeof RSA;
const P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const P384 = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;
const RSA = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};

/** A self-signed certificate and the key Node's TLS stack would decode from it. */
async function selfSigned(alg: Alg = P256): Promise<{ der: Uint8Array; tlsKey: KeyObject }> {
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: 'CN=self-signature test',
    notBefore: new Date('2020-01-01T00:00:00Z'),
    notAfter: new Date('2040-01-01T00:00:00Z'),
    signingAlgorithm: alg,
    keys,
  });
  const der = new Uint8Array(cert.rawData);
  return { der, tlsKey: new X509Certificate(der).publicKey };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof RatlsError, `not a RatlsError: ${String(e)}`);
    return e.code;
  }
  return 'no error';
}

function flipSignature(der: Uint8Array): Uint8Array {
  const bad = der.slice();
  bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0x01;
  return bad;
}

describe('self-signature with the key the TLS stack decoded', () => {
  test('another certificate’s key offered as the TLS key: ERR_CERT_TLS_KEY_MISMATCH', async () => {
    const { der } = await selfSigned();
    const other = await selfSigned();
    const parts = x509Parts(der);
    assert.equal(
      codeOf(() => checkSelfSigned(parts, () => other.tlsKey)),
      'ERR_CERT_TLS_KEY_MISMATCH',
    );
    // Another curve, and a key of another type, are other keys too.
    const p384 = await selfSigned(P384);
    assert.equal(
      codeOf(() => checkSelfSigned(parts, () => p384.tlsKey)),
      'ERR_CERT_TLS_KEY_MISMATCH',
    );
    const ed = generateKeyPairSync('ed25519').publicKey;
    assert.equal(
      codeOf(() => checkSelfSigned(parts, () => ed)),
      'ERR_CERT_TLS_KEY_MISMATCH',
    );
  });

  test('the same certificate’s TLS key is used as is, and a flipped signature still fails', async () => {
    for (const alg of [P256, P384]) {
      const { der, tlsKey } = await selfSigned(alg);
      const parts = x509Parts(der);
      assert.equal(
        selfSignatureKey(parts, () => tlsKey),
        tlsKey,
      );
      assert.equal(
        codeOf(() => checkSelfSigned(parts, () => tlsKey)),
        'no error',
      );
      const bad = x509Parts(flipSignature(der));
      assert.equal(
        codeOf(() => checkSelfSigned(bad, () => tlsKey)),
        'ERR_CERT_SIGNATURE',
      );
    }
  });

  test('no usable TLS key (absent, throwing, a private key): the SPKI is imported, checks unchanged', async () => {
    const { der } = await selfSigned();
    const parts = x509Parts(der);
    const bad = x509Parts(flipSignature(der));
    const throwing = () => {
      throw new Error('no key');
    };
    const priv = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    for (const tlsKey of [undefined, () => undefined, throwing, () => priv]) {
      assert.equal(
        codeOf(() => checkSelfSigned(parts, tlsKey)),
        'no error',
      );
      assert.equal(
        codeOf(() => checkSelfSigned(bad, tlsKey)),
        'ERR_CERT_SIGNATURE',
      );
    }
    assert.notEqual(
      selfSignatureKey(parts, () => priv),
      priv,
    );
  });

  test('a non-EC SPKI is imported from its own bytes whatever the TLS key', async () => {
    const { der } = await selfSigned(RSA);
    const other = await selfSigned();
    const parts = x509Parts(der);
    assert.equal(
      codeOf(() => checkSelfSigned(parts, () => other.tlsKey)),
      'no error',
    );
    assert.equal(
      codeOf(() => checkSelfSigned(x509Parts(flipSignature(der)), () => other.tlsKey)),
      'ERR_CERT_SIGNATURE',
    );
  });
});
