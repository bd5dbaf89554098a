/**
 * The certificate's own signature: self-signed (RA-TLS default), or issued directly by one of
 * the caller's `certificateAuthorities`. In RA-TLS the signature proves little by itself (the
 * TLS handshake proves key possession, the evidence binds the key); it is checked so a tampered
 * certificate fails early and CA-issued deployments can pin their CA.
 */
import { createPublicKey, verify } from 'node:crypto';
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

function verifies(cert: X509Parts, issuerSpki: Uint8Array): boolean {
  const hash = HASH_BY_ALG[cert.signatureAlgorithm];
  if (hash === undefined) {
    throw new CertificateError(
      'ERR_CERT_SIGNATURE_ALGORITHM',
      'certificate',
      `certificate: signature algorithm ${cert.signatureAlgorithm} is not supported (ECDSA/RSA with SHA-2, Ed25519)`,
    );
  }
  try {
    const key = createPublicKey({ key: Buffer.from(issuerSpki), format: 'der', type: 'spki' });
    return verify(hash, cert.tbs, key, cert.signature);
  } catch {
    return false;
  }
}

/** Throws ERR_CERT_NOT_SELF_SIGNED or ERR_CERT_SIGNATURE. */
export function checkSelfSigned(cert: X509Parts): void {
  if (!bytesEqual(cert.issuerRaw, cert.subjectRaw)) {
    throw new CertificateError(
      'ERR_CERT_NOT_SELF_SIGNED',
      'certificate',
      'certificate: issuer differs from subject and no certificateAuthorities were configured to check it against',
    );
  }
  if (!verifies(cert, cert.spki)) {
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
    else if (!verifies(cert, ca.spki)) reasons.push('the signature does not verify with the CA key');
    else return;
  }
  throw new CertificateError(
    'ERR_CERT_UNTRUSTED_ISSUER',
    'certificate',
    `certificate: not issued by any configured certificate authority${reasons.length ? ` (${reasons.join('; ')})` : ''}`,
  );
}
