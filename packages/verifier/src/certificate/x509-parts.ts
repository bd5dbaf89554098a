/**
 * The X.509 fields `verifyCertificate` needs, read by a bounds-checked DER walk (RFC 5280 §4.1):
 * the exact tbsCertificate bytes (what was signed), validity, names, SPKI, extensions.
 */
import { bytesEqual, CertificateError, MAX_CERT_BYTES, RatlsError } from '@ratls/evidence';
import { children, type DerNode, readOid, readTime, readTlv, whole } from '../pki/der.js';

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
  extensions: { oid: string; critical: boolean; value: Uint8Array }[];
  /** basicConstraints cA. */
  isCa: boolean;
}

const SEQ = 0x30;

function bad(msg: string, cause?: unknown): CertificateError {
  return new CertificateError('ERR_CERT_PARSE', 'certificate', `certificate: ${msg}`, { cause });
}

function need(n: DerNode | undefined, tag: number, what: string): DerNode {
  if (!n || n.tag !== tag) throw bad(`${what} missing or not tag 0x${tag.toString(16)}`);
  return n;
}

function validityTime(n: DerNode | undefined, what: string): DerNode {
  if (!n) throw bad(`validity ${what} missing`);
  return n;
}

function readExtensions(der: Uint8Array, node: DerNode): X509Parts['extensions'] {
  const seq = need(children(der, node)[0], SEQ, 'extensions');
  return children(der, seq).map((e) => {
    const parts = children(der, need(e, SEQ, 'extension'));
    const oid = readOid(der, need(parts[0], 0x06, 'extnID'));
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === 0x01) {
      const b = parts[i] as DerNode;
      critical = b.end - b.contentStart === 1 && der[b.contentStart] !== 0;
      i++;
    }
    const v = need(parts[i], 0x04, `extnValue of ${oid}`);
    if (parts.length !== i + 1) throw bad(`extension ${oid} has trailing fields`);
    return { oid, critical, value: der.subarray(v.contentStart, v.end) };
  });
}

function basicConstraintsCa(value: Uint8Array): boolean {
  const seq = readTlv(value, 0);
  if (seq.tag !== SEQ || seq.end !== value.length) throw bad('basicConstraints is not a SEQUENCE');
  const first = children(value, seq)[0];
  return first?.tag === 0x01 && value[first.contentStart] !== 0;
}

/** @example const p = x509Parts(der); console.log(p.notAfter) */
export function x509Parts(der: Uint8Array): X509Parts {
  if (der.length > MAX_CERT_BYTES) {
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'certificate',
      `certificate: ${der.length} bytes exceeds ${MAX_CERT_BYTES}`,
    );
  }
  try {
    const cert = readTlv(der, 0);
    if (cert.tag !== SEQ || cert.end !== der.length) throw bad('not a single DER SEQUENCE');
    const [tbsN, algN, sigN, extra] = children(der, cert);
    if (extra) throw bad('trailing fields after the signature');
    const tbsNode = need(tbsN, SEQ, 'tbsCertificate');
    const alg = children(der, need(algN, SEQ, 'signatureAlgorithm'));
    const sig = need(sigN, 0x03, 'signatureValue');
    if (sig.end - sig.contentStart < 1 || der[sig.contentStart] !== 0)
      throw bad('signature BIT STRING has unused bits');
    const f = children(der, tbsNode);
    let i = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
    i++; // serialNumber
    const innerAlg = need(f[i++], SEQ, 'tbs signature algorithm');
    const issuer = need(f[i++], SEQ, 'issuer');
    const validity = children(der, need(f[i++], SEQ, 'validity'));
    const subject = need(f[i++], SEQ, 'subject');
    const spki = need(f[i++], SEQ, 'subjectPublicKeyInfo');
    const outerOid = readOid(der, need(alg[0], 0x06, 'signature algorithm OID'));
    const innerOid = readOid(der, need(children(der, innerAlg)[0], 0x06, 'tbs signature algorithm OID'));
    // RFC 5280 §4.1.1.2: both algorithm fields must name the same algorithm.
    if (outerOid !== innerOid) throw bad(`signature algorithm ${outerOid} differs from the TBS field ${innerOid}`);
    // The outer field is not signed: parameters that differ from the TBS copy would make the
    // certificate malleable (same signature, different fingerprint).
    if (!bytesEqual(whole(der, algN as DerNode), whole(der, innerAlg)))
      throw bad(`signature algorithm ${outerOid}: parameters differ from the TBS field`);
    let extensions: X509Parts['extensions'] = [];
    for (; i < f.length; i++) {
      const n = f[i] as DerNode;
      if (n.tag === 0xa3) extensions = readExtensions(der, n);
    }
    const bc = extensions.find((e) => e.oid === '2.5.29.19');
    return {
      der,
      tbs: whole(der, tbsNode),
      signatureAlgorithm: outerOid,
      signature: der.subarray(sig.contentStart + 1, sig.end),
      issuerRaw: whole(der, issuer),
      subjectRaw: whole(der, subject),
      notBefore: readTime(der, validityTime(validity[0], 'notBefore')),
      notAfter: readTime(der, validityTime(validity[1], 'notAfter')),
      spki: whole(der, spki),
      extensions,
      isCa: bc ? basicConstraintsCa(bc.value) : false,
    };
  } catch (e) {
    if (e instanceof RatlsError && e.code === 'ERR_CERT_PARSE') throw e;
    throw bad(e instanceof Error ? e.message : String(e), e);
  }
}
