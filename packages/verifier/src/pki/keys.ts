/**
 * Public keys and signature checks through node:crypto. P-256 keys are imported as JWK: in
 * Node 20 (OpenSSL 3) that is about twice as fast as decoding the SPKI DER.
 *
 * Importing a key (≈60 µs as JWK, ≈105 µs as SPKI DER) costs more than the ECDSA verification it
 * feeds (≈50–70 µs), and a DCAP appraisal imports the same Intel CA keys on every call. So imported
 * keys are kept in one bounded cache keyed by the exact key bytes (the 64-byte P-256 point, or the
 * whole SPKI DER, under distinct tags; `bytes-map.ts`: a hash picks the bucket, a full byte compare
 * decides). It maps bytes to a parsed public key and nothing else:
 * no signature or verification outcome is ever remembered, so a cached key can only make a check
 * faster, never make one pass. A KeyObject is immutable, so sharing it between callers is safe.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { CertificateError } from '@ratls/evidence';
import { ExactBytesMap } from './bytes-map.js';
import type { ParsedCertificate } from './certificate.js';

export const OID_EC_PUBLIC_KEY = '1.2.840.10045.2.1';
export const OID_P256 = '1.2.840.10045.3.1.7';
export const OID_ECDSA_SHA256 = '1.2.840.10045.4.3.2';
export const OID_ECDSA_SHA384 = '1.2.840.10045.4.3.3';

function b64url(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');
}

/** Upper bound on cached keys: Intel's hierarchy has a handful; peers' keys churn through LRU order. */
export const KEY_CACHE_MAX = 512;

const keyCache = new ExactBytesMap<KeyObject>(KEY_CACHE_MAX);
/** Tags that keep the two key forms apart in the cache. */
const TAG_P256 = 1;
const TAG_SPKI = 2;
// Each form below looks up first and imports only on a miss; a key that fails to import is never
// cached, so it fails again every time. (No `make` closure per lookup: that was a share too.)

/**
 * How many imported keys the cache holds (for tests and metrics).
 * @example
 * keyCacheSize() <= KEY_CACHE_MAX // always
 */
export function keyCacheSize(): number {
  return keyCache.size;
}

/**
 * A P-256 public key from raw x ‖ y (64 bytes, as in DCAP quotes) or 0x04 ‖ x ‖ y (65 bytes).
 * Throws `CertificateError` ERR_KEY_INVALID when the point is not on the curve.
 * @example
 * const ok = verifyP256Raw(signedBytes, p256KeyFromRaw(quote.signatureData.attestationKey), sig)
 */
export function p256KeyFromRaw(raw: Uint8Array): KeyObject {
  const off = raw.length === 65 && raw[0] === 0x04 ? 1 : raw.length === 64 ? 0 : -1;
  if (off < 0) throw new CertificateError('ERR_KEY_INVALID', 'key', `P-256 key: unexpected length ${raw.length}`);
  const point = raw.subarray(off, off + 64);
  const hit = keyCache.get(TAG_P256, point);
  if (hit !== undefined) return hit;
  let k: KeyObject;
  try {
    k = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: b64url(point.subarray(0, 32)), y: b64url(point.subarray(32, 64)) },
      format: 'jwk',
    });
  } catch (e) {
    throw new CertificateError('ERR_KEY_INVALID', 'key', 'P-256 key: not a valid curve point', { cause: e });
  }
  keyCache.set(TAG_P256, point, k);
  return k;
}

/**
 * The certificate's public key as a KeyObject (from the import cache when these exact key bytes
 * were imported before).
 * @example
 * const ok = verifyEcdsaDer('sha256', cert.tbs, certificateKey(issuer), cert.signature)
 */
export function certificateKey(cert: ParsedCertificate): KeyObject {
  if (cert.spkiAlgorithm === OID_EC_PUBLIC_KEY && cert.spkiCurve === OID_P256)
    return p256KeyFromRaw(cert.publicKeyBits);
  const hit = keyCache.get(TAG_SPKI, cert.spki);
  if (hit !== undefined) return hit;
  let k: KeyObject;
  try {
    k = createPublicKey({ key: Buffer.from(cert.spki), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CertificateError('ERR_KEY_INVALID', 'key', `certificate "${cert.subjectCn}": unusable public key`, {
      cause: e,
    });
  }
  keyCache.set(TAG_SPKI, cert.spki, k);
  return k;
}

/** Hash for an ECDSA signature algorithm OID, or undefined when unsupported. */
export function ecdsaHash(oid: string): 'sha256' | 'sha384' | undefined {
  return oid === OID_ECDSA_SHA256 ? 'sha256' : oid === OID_ECDSA_SHA384 ? 'sha384' : undefined;
}

/** ECDSA check of DER-encoded signature `sig` over `data`; false on any mismatch or malformed input. */
export function verifyEcdsaDer(hash: string, data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return verify(hash, data, key, sig);
  } catch {
    return false;
  }
}

/** ECDSA P-256/SHA-256 check of a raw r ‖ s (64 bytes) signature; false on any mismatch. */
export function verifyP256Raw(data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  try {
    return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, sig);
  } catch {
    return false;
  }
}
