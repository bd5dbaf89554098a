/**
 * The X.509 fields `verifyCertificate` needs, read by the one ASN.1 stack (`parseX509` of
 * `@ratls/evidence`, RFC 5280 §4.1); this module only maps its failures to the certificate step's code.
 */
import { CertificateError, MAX_RATLS_CERT_BYTES, parseX509, RatlsError, type X509Extension } from '@ratls/evidence';

export interface X509Parts {
  der: Uint8Array;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  /** BIT STRING content without the unused-bits byte. */
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  notBefore: number;
  notAfter: number;
  spki: Uint8Array;
  extensions: X509Extension[];
  /** basicConstraints cA. */
  isCa: boolean;
}

/**
 * Parses the peer certificate strictly; every parse failure is ERR_CERT_PARSE, size ERR_CERT_TOO_LARGE.
 * @example const p = x509Parts(der); console.log(p.notAfter)
 */
export function x509Parts(der: Uint8Array): X509Parts {
  if (der.length > MAX_RATLS_CERT_BYTES) {
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'certificate',
      `certificate: ${der.length} bytes exceeds ${MAX_RATLS_CERT_BYTES}`,
    );
  }
  try {
    const c = parseX509(der, MAX_RATLS_CERT_BYTES);
    return {
      der,
      tbs: c.tbs,
      signatureAlgorithm: c.signatureAlgorithm,
      signature: c.signature,
      issuerRaw: c.issuerRaw,
      subjectRaw: c.subjectRaw,
      notBefore: c.notBefore,
      notAfter: c.notAfter,
      spki: c.spki,
      extensions: c.extensionList,
      isCa: c.isCa,
    };
  } catch (e) {
    const msg = e instanceof RatlsError ? `${e.message} (${e.code})` : 'not a DER certificate';
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', msg, { cause: e });
  }
}
