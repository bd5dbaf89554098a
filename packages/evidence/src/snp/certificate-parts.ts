/**
 * The parts of an AMD certificate (VCEK, VLEK, ASK, ARK) the SNP checks need, read by the one
 * ASN.1 stack (`parseX509`): the outer signature algorithm and the extensions. Every failure is
 * `ERR_SNP_VCEK_INVALID` naming the certificate and the stack's own code.
 */
import { derChildren, derWhole, readDer } from '../asn1/der.js';
import { parseX509 } from '../asn1/x509.js';
import { EvidenceParseError, RatlsError } from '../errors.js';

export interface CertificateParts {
  /** Certificate.signatureAlgorithm: OID and the raw parameters TLV bytes (if any). */
  signatureAlgorithm: { oid: string; params?: Uint8Array };
  /** extnID → extnValue (the OCTET STRING contents). */
  extensions: Map<string, Uint8Array>;
}

/**
 * Splits a DER certificate (RFC 5280 §4.1) strictly into its signature algorithm and extensions.
 * @example certificateParts(vcekDer).extensions.get('1.3.6.1.4.1.3704.1.3.3')
 */
export function certificateParts(der: Uint8Array, what = 'certificate'): CertificateParts {
  try {
    const c = parseX509(der);
    const alg = c.signatureAlgorithmDer;
    const p = derChildren(alg, readDer(alg, 0x30), 2)[1];
    const oid = c.signatureAlgorithm;
    const extensions = new Map(c.extensionList.map((e) => [e.oid, e.value]));
    return { signatureAlgorithm: p ? { oid, params: derWhole(alg, p).slice() } : { oid }, extensions };
  } catch (e) {
    const why = e instanceof RatlsError ? `${e.message} (${e.code})` : 'not a certificate';
    throw new EvidenceParseError('ERR_SNP_VCEK_INVALID', 'parse', `${what}: malformed (${why})`, { cause: e });
  }
}
