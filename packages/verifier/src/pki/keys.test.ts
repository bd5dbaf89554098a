import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign, webcrypto } from 'node:crypto';
import { describe, test } from 'node:test';
import { x509 } from '@ratls/test-support/x509';
import { parseCertificate } from './certificate.js';
import { certificateKey, KEY_CACHE_MAX, keyCacheSize, p256KeyFromRaw, verifyEcdsaDer, verifyP256Raw } from './keys.js';

/** A fresh P-256 key pair and its public point x ‖ y. */
function p256(): { priv: KeyObject; point: Uint8Array } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const point = new Uint8Array(64);
  point.set(Buffer.from(jwk.x as string, 'base64url'), 0);
  point.set(Buffer.from(jwk.y as string, 'base64url'), 32);
  return { priv: privateKey, point };
}

const rawSig = (priv: KeyObject, data: Uint8Array) =>
  new Uint8Array(sign('sha256', data, { key: priv, dsaEncoding: 'ieee-p1363' }));

describe('imported key cache (DER/point bytes → KeyObject only)', () => {
  test('the same point bytes give the same KeyObject, in 64- and 65-byte form', () => {
    const { point } = p256();
    const a = p256KeyFromRaw(point);
    const b = p256KeyFromRaw(new Uint8Array(point));
    const c = p256KeyFromRaw(new Uint8Array([0x04, ...point]));
    assert.equal(a, b);
    assert.equal(a, c);
  });

  test('attacker: a key differing in one byte is its own key, and never verifies the other key’s signature', () => {
    const victim = p256();
    const attacker = p256();
    const data = new TextEncoder().encode('quote body');
    const sig = rawSig(victim.priv, data);
    assert.equal(verifyP256Raw(data, p256KeyFromRaw(victim.point), sig), true);
    const k = p256KeyFromRaw(attacker.point);
    assert.notEqual(k, p256KeyFromRaw(victim.point));
    assert.equal(verifyP256Raw(data, k, sig), false);
    // A point one byte off the cached one is not on the curve: refused, not served from the cache.
    const bent = new Uint8Array(victim.point);
    bent[63] = (bent[63] as number) ^ 1;
    assert.throws(() => p256KeyFromRaw(bent), { code: 'ERR_KEY_INVALID' });
  });

  test('attacker: no verification outcome is cached: a tampered message fails with a cached key', () => {
    const { priv, point } = p256();
    const data = new TextEncoder().encode('tcb info bytes');
    const sig = rawSig(priv, data);
    const key = p256KeyFromRaw(point);
    assert.equal(verifyP256Raw(data, key, sig), true);
    const tampered = new Uint8Array(data);
    tampered[0] = (tampered[0] as number) ^ 1;
    assert.equal(verifyP256Raw(tampered, p256KeyFromRaw(point), sig), false);
  });

  test('attacker: an invalid point is refused every time and never enters the cache', () => {
    const before = keyCacheSize();
    const offCurve = new Uint8Array(64).fill(0x01);
    assert.throws(() => p256KeyFromRaw(offCurve), { code: 'ERR_KEY_INVALID' });
    assert.throws(() => p256KeyFromRaw(offCurve), { code: 'ERR_KEY_INVALID' });
    assert.throws(() => p256KeyFromRaw(new Uint8Array(63)), { code: 'ERR_KEY_INVALID' });
    assert.ok(keyCacheSize() <= before);
  });

  test('the cache is bounded: KEY_CACHE_MAX + 20 distinct keys leave at most KEY_CACHE_MAX cached', () => {
    const first = p256();
    const firstKey = p256KeyFromRaw(first.point);
    for (let i = 0; i < KEY_CACHE_MAX + 20; i++) p256KeyFromRaw(p256().point);
    assert.ok(keyCacheSize() <= KEY_CACHE_MAX);
    // The evicted key is imported again: equal in value, a new object.
    const again = p256KeyFromRaw(first.point);
    assert.notEqual(again, firstKey);
    assert.equal(again.equals(firstKey), true);
  });

  test('non-P-256 certificate keys are cached by their exact SPKI DER', async () => {
    const alg = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' } as const;
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: 'CN=P-384 self-signed',
      keys,
      serialNumber: '01',
      notBefore: new Date('2030-01-01T00:00:00Z'),
      notAfter: new Date('2031-01-01T00:00:00Z'),
      signingAlgorithm: alg,
    });
    const parsed = parseCertificate(new Uint8Array(cert.rawData));
    const k = certificateKey(parsed);
    assert.equal(k.asymmetricKeyDetails?.namedCurve, 'secp384r1');
    assert.equal(certificateKey(parseCertificate(new Uint8Array(cert.rawData))), k);
    assert.equal(verifyEcdsaDer('sha384', parsed.tbs, k, parsed.signature), true);
  });
});
