/**
 * The certificate's own signature: self-signed (RA-TLS default), or issued directly by one of
 * the caller's `certificateAuthorities`. In RA-TLS the signature proves little by itself (the
 * TLS handshake proves key possession, the evidence binds the key); it is checked so a tampered
 * certificate fails early and CA-issued deployments can pin their CA.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { bytesEqual, CertificateError } from '@ratls/evidence';
import type { X509Parts } from './x509-parts.js';

const HASH_BY_ALG: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256', // ecdsa-with-SHA256
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256', // sha256WithRSAEncryption
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null, // Ed25519: no separate digest
};

/** SPKI DER prefixes of uncompressed EC P-256 / P-384 keys (RFC 5480), followed by 0x04 ‖ x ‖ y. */
const EC_SPKI_PREFIXES: Array<{ crv: 'P-256' | 'P-384'; prefix: Buffer; size: number }> = [
  { crv: 'P-256', prefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'), size: 32 },
  { crv: 'P-384', prefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'), size: 48 },
];

/** The curve and coordinates of an uncompressed EC P-256/P-384 SPKI, or undefined for any other key. */
function ecPoint(spki: Uint8Array): { crv: 'P-256' | 'P-384'; x: string; y: string } | undefined {
  const b = Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength);
  for (const { crv, prefix, size } of EC_SPKI_PREFIXES) {
    if (
      b.length === prefix.length + 1 + 2 * size &&
      b.subarray(0, prefix.length).equals(prefix) &&
      b[prefix.length] === 4
    ) {
      const x = b.subarray(prefix.length + 1, prefix.length + 1 + size).toString('base64url');
      const y = b.subarray(prefix.length + 1 + size).toString('base64url');
      return { crv, x, y };
    }
  }
  return undefined;
}

/**
 * The issuer key as a KeyObject. EC keys are imported as JWK because Node 20 decodes SPKI DER at
 * about twice the cost (~180 µs vs ~80 µs here), which is a tenth of a fresh certificate's check.
 */
function issuerKey(spki: Uint8Array): KeyObject {
  const ec = ecPoint(spki);
  if (ec) return createPublicKey({ key: { kty: 'EC', ...ec }, format: 'jwk' });
  return createPublicKey({
    key: Buffer.from(spki.buffer, spki.byteOffset, spki.byteLength),
    format: 'der',
    type: 'spki',
  });
}

/** The issuer's key from its SPKI, or undefined when it cannot be imported. */
function importedKey(spki: Uint8Array): KeyObject | undefined {
  try {
    return issuerKey(spki);
  } catch {
    return undefined;
  }
}

/**
 * The key the self-signature is checked with. `tlsKey` gives the key OpenSSL decoded from the
 * very certificate bytes for the handshake (`getPeerX509Certificate().publicKey`): a new key
 * every connection, so the import below (≈150 µs, the largest part of the check besides the
 * verification itself) is what a fresh certificate would pay; reading OpenSSL's copy and
 * exporting its coordinates costs about half. It is used only when its curve and coordinates are
 * exactly the ones this module reads from the SPKI, so the check is still "the signature verifies
 * with the SPKI as our parser reads it": OpenSSL's object is only a decoded copy of those bytes,
 * as the key cache by exact bytes is. When the SPKI is an EC key and OpenSSL decoded another key
 * from the same certificate, the handshake proved possession of a key the evidence does not
 * bind (a parser differential): ERR_CERT_TLS_KEY_MISMATCH. Other key types are imported as before.
 * Undefined when the SPKI cannot be imported (the signature check then fails).
 */
export function selfSignatureKey(cert: X509Parts, tlsKey?: () => KeyObject | undefined): KeyObject | undefined {
  const ec = tlsKey ? ecPoint(cert.spki) : undefined;
  if (ec && tlsKey) {
    let theirs: KeyObject | undefined;
    let jwk: { kty?: string; crv?: string; x?: string; y?: string } | undefined;
    try {
      theirs = tlsKey();
      jwk = theirs?.type === 'public' ? theirs.export({ format: 'jwk' }) : undefined;
    } catch {
      theirs = undefined;
    }
    if (theirs && jwk) {
      if (jwk.kty === 'EC' && jwk.crv === ec.crv && jwk.x === ec.x && jwk.y === ec.y) return theirs;
      throw new CertificateError(
        'ERR_CERT_TLS_KEY_MISMATCH',
        'certificate',
        `certificate: the TLS stack decoded another public key from this certificate than its SPKI (${ec.crv}); the handshake key is not the key the evidence binds`,
      );
    }
  }
  return importedKey(cert.spki);
}

function verifies(cert: X509Parts, issuer: KeyObject | undefined): boolean {
  const hash = HASH_BY_ALG[cert.signatureAlgorithm];
  if (hash === undefined) {
    throw new CertificateError(
      'ERR_CERT_SIGNATURE_ALGORITHM',
      'certificate',
      `certificate: signature algorithm ${cert.signatureAlgorithm} is not supported (ECDSA/RSA with SHA-2, Ed25519)`,
    );
  }
  if (!issuer) return false;
  try {
    return verify(hash, cert.tbs, issuer, cert.signature);
  } catch {
    return false;
  }
}

/**
 * Throws ERR_CERT_NOT_SELF_SIGNED, ERR_CERT_SIGNATURE or ERR_CERT_TLS_KEY_MISMATCH. `tlsKey`: the
 * key the TLS stack decoded from the same certificate, when there is one (see `selfSignatureKey`).
 */
export function checkSelfSigned(cert: X509Parts, tlsKey?: () => KeyObject | undefined): void {
  if (!bytesEqual(cert.issuerRaw, cert.subjectRaw)) {
    throw new CertificateError(
      'ERR_CERT_NOT_SELF_SIGNED',
      'certificate',
      'certificate: issuer differs from subject and no certificateAuthorities were configured to check it against',
    );
  }
  if (!verifies(cert, selfSignatureKey(cert, tlsKey))) {
    throw new CertificateError(
      'ERR_CERT_SIGNATURE',
      'certificate',
      'certificate: self-signature does not verify with its own public key',
    );
  }
}

/**
 * The certificate must be issued by one of `cas` (subject = issuer, CA flag, valid at `at`,
 * signature verifies). Throws ERR_CERT_UNTRUSTED_ISSUER otherwise.
 */
export function checkIssuedBy(cert: X509Parts, cas: X509Parts[], at: number): void {
  const reasons: string[] = [];
  for (const ca of cas) {
    if (!bytesEqual(ca.subjectRaw, cert.issuerRaw)) continue;
    if (!ca.isCa) reasons.push('a CA with the issuer name is not marked cA');
    else if (at < ca.notBefore || at > ca.notAfter)
      reasons.push('the issuing CA is not valid at the verification time');
    else if (!verifies(cert, importedKey(ca.spki))) reasons.push('the signature does not verify with the CA key');
    else return;
  }
  throw new CertificateError(
    'ERR_CERT_UNTRUSTED_ISSUER',
    'certificate',
    `certificate: not issued by any configured certificate authority${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
  );
}
