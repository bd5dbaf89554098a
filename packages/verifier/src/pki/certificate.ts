/**
 * X.509 certificates for chain checks, read by the one ASN.1 stack of `@ratls/evidence`
 * (`parseX509`, `readPem`): this module keeps the chain-side bounds and names.
 */
import {
  CertificateError,
  derNameAttributes,
  type NameAttribute,
  parseX509,
  RatlsError,
  readPem,
  type X509Extension,
  type X509Parts,
} from '@ratls/evidence';

export {
  KU_CRL_SIGN,
  KU_DIGITAL_SIGNATURE,
  KU_KEY_CERT_SIGN,
  type NameAttribute,
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
} from '@ratls/evidence';

/**
 * Bound on one certificate of a vendor chain (PCK, TCB signing, CA, AMD and AWS chain certificates;
 * Intel PCK leaves are ~1.2 KiB). A peer's whole RA-TLS certificate has its own, larger bound,
 * `MAX_RATLS_CERT_BYTES` in @ratls/evidence.
 */
export const MAX_CHAIN_CERT_BYTES = 16 * 1024;

export type CertExtension = X509Extension;
export type ParsedCertificate = X509Parts;

export const OID_CN = '2.5.4.3';
export const OID_O = '2.5.4.10';
export const OID_L = '2.5.4.7';
export const OID_ST = '2.5.4.8';
export const OID_C = '2.5.4.6';
export const OID_OU = '2.5.4.11';
/** Critical extensions this code understands (RFC 5280 §4.2: any other critical one is refused). */
export const KNOWN_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  '2.5.29.19', // basicConstraints
  '2.5.29.15', // keyUsage
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.32', // certificatePolicies
]);

/**
 * Parses one DER certificate (at most `MAX_CHAIN_CERT_BYTES`). Throws `CertificateError`
 * ERR_CERT_MALFORMED / ERR_DER_MALFORMED.
 * @example const c = parseCertificate(der); console.log(c.subjectCn, c.notAfter)
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  if (der.length > MAX_CHAIN_CERT_BYTES) {
    throw new CertificateError(
      'ERR_CERT_MALFORMED',
      'x509',
      `certificate: ${der.length} bytes exceeds ${MAX_CHAIN_CERT_BYTES}`,
    );
  }
  return parseX509(der, MAX_CHAIN_CERT_BYTES);
}

/** Largest PEM chain text accepted. */
export const MAX_PEM_CHAIN_BYTES = 64 * 1024;

/**
 * Splits PEM text into certificate DERs (in order), strictly (`readPem`: exact CERTIFICATE armour,
 * canonical base64, nothing else). Refuses oversized text, more than `maxCerts` blocks, or none.
 * Throws `CertificateError` ERR_CERT_MALFORMED whose `cause` is the reader's ERR_PEM_MALFORMED /
 * ERR_PEM_TOO_LARGE.
 * @example const ders = pemToDers(chainPem)
 */
export function pemToDers(pem: string, maxCerts = 8): Uint8Array[] {
  try {
    return readPem(pem, { label: 'CERTIFICATE', maxBlocks: maxCerts, maxChars: MAX_PEM_CHAIN_BYTES });
  } catch (e) {
    const code = e instanceof RatlsError ? e.code : 'ERR_PEM_MALFORMED';
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', `certificate chain: ${(e as Error).message} (${code})`, {
      cause: e,
    });
  }
}

/**
 * A certificate name decoded into RDNs (the stack's `derNameAttributes`), with a failure reported
 * as the chain code ERR_CERT_MALFORMED (cause: the DER reader's ERR_DER_MALFORMED).
 * @example nameAttributes(cert.subjectRaw)[0] // [{ oid: '2.5.4.3', value: 'Intel SGX TCB Signing' }]
 */
export function nameAttributes(raw: Uint8Array): NameAttribute[][] {
  try {
    return derNameAttributes(raw);
  } catch (e) {
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', `certificate name: ${(e as Error).message}`, { cause: e });
  }
}
