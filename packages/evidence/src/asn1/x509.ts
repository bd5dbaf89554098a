/**
 * The one X.509 parts parser (RFC 5280 §4.1): the exact signed TBS bytes, signature algorithm
 * (outer equal to the TBS copy, parameters included), serial, names (raw and CN), validity, SPKI,
 * extensions (unique OIDs, critical flags), basicConstraints and keyUsage. Structure on top of
 * `readDer`, so every byte of the certificate is canonical DER before a field is read. Failures:
 * `ERR_CERT_TOO_LARGE`, `ERR_CERT_MALFORMED` (structure), `ERR_CERT_DUPLICATE_EXTENSION`,
 * `ERR_DER_MALFORMED` (encoding).
 */
import { bytesEqual } from '../bytes.js';
import { CertificateError } from '../errors.js';
import {
  type DerNode,
  derBitStringBytes,
  derBoolean,
  derChildren,
  derContent,
  derIntegerBytes,
  derSmallUint,
  derWhole,
  readDer,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
} from './der.js';
import { checkDerName, derNameCn } from './name.js';
import { derOid } from './oid.js';
import { derTime } from './time.js';

/** Certificates larger than this are refused by `parseX509` (RA-TLS leaves with a quote are ~10 KiB). */
export const X509_MAX_BYTES = 256 * 1024;
/** At most this many extensions (real certificates carry under 20). */
export const X509_MAX_EXTENSIONS = 64;

export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_KEY_USAGE = '2.5.29.15';
/** keyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KU_DIGITAL_SIGNATURE = 0;
export const KU_KEY_CERT_SIGN = 5;
export const KU_CRL_SIGN = 6;

export interface X509Extension {
  oid: string;
  critical: boolean;
  /** Content of the extnValue OCTET STRING. */
  value: Uint8Array;
}

/** Fields of one certificate; every byte array is a view into `der`. */
export interface X509Parts {
  der: Uint8Array;
  /** The DER of tbsCertificate: what the issuer signed. */
  tbs: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** Serial number INTEGER content (as encoded; a leading zero keeps it positive). */
  serial: Uint8Array;
  serialHex: string;
  /** OID of Certificate.signatureAlgorithm (equal to the TBS copy, parameters included). */
  signatureAlgorithm: string;
  /** DER of the AlgorithmIdentifier, parameters included. */
  signatureAlgorithmDer: Uint8Array;
  /** Signature value (BIT STRING content without the unused-bits byte). */
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  issuerCn: string;
  subjectCn: string;
  /** Unix seconds. */
  notBefore: number;
  notAfter: number;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  spkiAlgorithm: string;
  /** Named curve OID of an EC key. */
  spkiCurve?: string;
  /** subjectPublicKey BIT STRING content (for EC: 0x04 ‖ x ‖ y). */
  publicKeyBits: Uint8Array;
  /** In certificate order; OIDs unique. */
  extensionList: X509Extension[];
  extensions: Map<string, X509Extension>;
  /** basicConstraints cA; false when absent. */
  isCa: boolean;
  /** basicConstraints pathLenConstraint. */
  pathLen?: number;
  /** basicConstraints as encoded (RFC 5280 §4.2.1.9); undefined when the extension is absent. */
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** keyUsage bits (bit 0 = digitalSignature … 5 = keyCertSign, 6 = cRLSign); undefined when absent. */
  keyUsage?: number;
}

function need(n: DerNode | undefined, tag: number, what: string): DerNode {
  if (!n || n.tag !== tag)
    throw new CertificateError(
      'ERR_CERT_MALFORMED',
      'x509',
      `certificate: ${what} missing or not tag 0x${tag.toString(16)}`,
    );
  return n;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function readExtensions(der: Uint8Array, wrap: DerNode): X509Extension[] {
  const seqs = derChildren(der, wrap, 1);
  const seq = need(seqs[0], TAG_SEQUENCE, 'extensions');
  const list = derChildren(der, seq, X509_MAX_EXTENSIONS);
  const out: X509Extension[] = [];
  const seen = new Set<string>();
  for (const e of list) {
    const parts = derChildren(der, need(e, TAG_SEQUENCE, 'extension'), 3);
    const oid = derOid(der, need(parts[0], TAG_OID, 'extnID'));
    let i = 1;
    let critical = false;
    if (parts[i]?.tag === TAG_BOOLEAN) {
      critical = derBoolean(der, parts[i] as DerNode);
      // X.690 §11.5: a DEFAULT value is never encoded in DER.
      if (!critical)
        throw new CertificateError(
          'ERR_CERT_MALFORMED',
          'x509',
          `certificate: extension ${oid}: critical FALSE encoded (DER omits the default)`,
        );
      i++;
    }
    const v = need(parts[i], TAG_OCTET_STRING, `extnValue of ${oid}`);
    if (parts.length !== i + 1)
      throw new CertificateError('ERR_CERT_MALFORMED', 'x509', `certificate: extension ${oid} has trailing fields`);
    // RFC 5280 §4.2: a certificate MUST NOT include more than one instance of an extension.
    if (seen.has(oid)) {
      throw new CertificateError('ERR_CERT_DUPLICATE_EXTENSION', 'x509', `certificate: extension ${oid} appears twice`);
    }
    seen.add(oid);
    out.push({ oid, critical, value: derContent(der, v) });
  }
  return out;
}

function basicConstraints(v: Uint8Array): { isCa: boolean; pathLen?: number } {
  const seq = readDer(v, TAG_SEQUENCE);
  const parts = derChildren(v, seq, 2);
  let i = 0;
  let isCa = false;
  if (parts[0]?.tag === TAG_BOOLEAN) {
    isCa = derBoolean(v, parts[0]);
    if (!isCa)
      throw new CertificateError(
        'ERR_CERT_MALFORMED',
        'x509',
        'certificate: basicConstraints cA FALSE encoded (DER omits the default)',
      );
    i = 1;
  }
  const pl = parts[i];
  if (pl && pl.tag !== TAG_INTEGER)
    throw new CertificateError(
      'ERR_CERT_MALFORMED',
      'x509',
      'certificate: basicConstraints pathLenConstraint is not an INTEGER',
    );
  if (parts.length > i + (pl ? 1 : 0))
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', 'certificate: basicConstraints has trailing fields');
  return pl ? { isCa, pathLen: derSmallUint(v, pl) } : { isCa };
}

function keyUsageBits(v: Uint8Array): number {
  const ku = readDer(v, TAG_BIT_STRING);
  const len = ku.end - ku.contentStart;
  const unused = v[ku.contentStart] as number;
  if (len < 2 || len > 3 || unused > 7)
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', 'certificate: keyUsage is not a BIT STRING of 1..16 bits');
  // BIT STRING: first content byte is the unused-bit count, then bits 0..15 MSB first.
  let bits = 0;
  for (let k = ku.contentStart + 1, bit = 0; k < ku.end; k++, bit += 8) {
    const byte = v[k] as number;
    for (let j = 0; j < 8; j++) if (byte & (0x80 >> j)) bits |= 1 << (bit + j);
  }
  return bits;
}

/**
 * Parses one DER certificate strictly.
 * @example const c = parseX509(der); console.log(c.subjectCn, c.notAfter, c.extensions.get('2.5.29.19'))
 */
export function parseX509(der: Uint8Array, maxBytes: number = X509_MAX_BYTES): X509Parts {
  if (der.length > maxBytes) {
    throw new CertificateError('ERR_CERT_TOO_LARGE', 'x509', `certificate: ${der.length} bytes exceeds ${maxBytes}`);
  }
  const top = readDer(der, TAG_SEQUENCE, maxBytes);
  const [tbsN, algN, sigN, extra] = derChildren(der, top, 4);
  if (extra)
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', 'certificate: trailing fields after the signature');
  const tbsNode = need(tbsN, TAG_SEQUENCE, 'tbsCertificate');
  const alg = need(algN, TAG_SEQUENCE, 'signatureAlgorithm');
  const signature = derBitStringBytes(der, need(sigN, TAG_BIT_STRING, 'signatureValue'), 'signatureValue');
  const f = derChildren(der, tbsNode, 10);
  let i = 0;
  let version = 1;
  if (f[0]?.tag === 0xa0) {
    const vs = derChildren(der, f[0], 1);
    version = derSmallUint(der, need(vs[0], TAG_INTEGER, 'version')) + 1;
    // X.690 §11.5: v1 is the DEFAULT and is not encoded.
    if (version < 2 || version > 3)
      throw new CertificateError(
        'ERR_CERT_MALFORMED',
        'x509',
        `certificate: version ${version} (expected an encoded v2 or v3)`,
      );
    i = 1;
  }
  const serialN = need(f[i++], TAG_INTEGER, 'serialNumber');
  const innerAlg = need(f[i++], TAG_SEQUENCE, 'tbs signature algorithm');
  const issuerN = need(f[i++], TAG_SEQUENCE, 'issuer');
  const validityN = need(f[i++], TAG_SEQUENCE, 'validity');
  const subjectN = need(f[i++], TAG_SEQUENCE, 'subject');
  const spkiN = need(f[i++], TAG_SEQUENCE, 'subjectPublicKeyInfo');
  const signatureAlgorithm = derOid(der, need(derChildren(der, alg, 2)[0], TAG_OID, 'signature algorithm OID'));
  const innerOid = derOid(der, need(derChildren(der, innerAlg, 2)[0], TAG_OID, 'tbs signature algorithm OID'));
  // RFC 5280 §4.1.1.2: both fields name the same algorithm. The outer field is not signed:
  // parameters that differ from the TBS copy would make the certificate malleable.
  if (signatureAlgorithm !== innerOid) {
    throw new CertificateError(
      'ERR_CERT_MALFORMED',
      'x509',
      `certificate: signature algorithm ${signatureAlgorithm} differs from the TBS field ${innerOid}`,
    );
  }
  const algDer = derWhole(der, alg);
  const innerDer = derWhole(der, innerAlg);
  if (!bytesEqual(algDer, innerDer)) {
    throw new CertificateError(
      'ERR_CERT_MALFORMED',
      'x509',
      `certificate: signature algorithm ${signatureAlgorithm}: parameters differ from the TBS field`,
    );
  }
  checkDerName(der, issuerN);
  checkDerName(der, subjectN);
  const validity = derChildren(der, validityN, 2);
  if (validity.length !== 2)
    throw new CertificateError('ERR_CERT_MALFORMED', 'x509', 'certificate: validity is not (notBefore, notAfter)');
  const spkiParts = derChildren(der, spkiN, 2);
  const spkiAlg = need(spkiParts[0], TAG_SEQUENCE, 'SPKI algorithm');
  const spkiAlgParts = derChildren(der, spkiAlg, 2);
  const spkiAlgorithm = derOid(der, need(spkiAlgParts[0], TAG_OID, 'SPKI algorithm OID'));
  const curveNode = spkiAlgParts[1];
  const publicKeyBits = derBitStringBytes(
    der,
    need(spkiParts[1], TAG_BIT_STRING, 'subjectPublicKey'),
    'subjectPublicKey',
  );
  let extensionList: X509Extension[] = [];
  // RFC 5280 §4.1: [1] issuerUniqueID, [2] subjectUniqueID (v2+), then [3] extensions (v3), in order.
  let order = 0;
  for (; i < f.length; i++) {
    const n = f[i] as DerNode;
    const k = n.tag === 0x81 ? 1 : n.tag === 0x82 ? 2 : n.tag === 0xa3 ? 3 : 0;
    if (k === 0 || k <= order)
      throw new CertificateError(
        'ERR_CERT_MALFORMED',
        'x509',
        `certificate: unexpected TBS field tag 0x${n.tag.toString(16)}`,
      );
    if (version < (k === 3 ? 3 : 2))
      throw new CertificateError(
        'ERR_CERT_MALFORMED',
        'x509',
        `certificate: TBS field tag 0x${n.tag.toString(16)} in a v${version} certificate`,
      );
    order = k;
    if (k === 3) extensionList = readExtensions(der, n);
  }
  const extensions = new Map(extensionList.map((e) => [e.oid, e]));
  const bc = extensions.get(OID_BASIC_CONSTRAINTS);
  const ku = extensions.get(OID_KEY_USAGE);
  const serial = derIntegerBytes(der, serialN);
  const constraints = bc ? basicConstraints(bc.value) : { isCa: false };
  return {
    der,
    tbs: derWhole(der, tbsNode),
    version,
    serial,
    serialHex: hex(serial),
    signatureAlgorithm,
    signatureAlgorithmDer: algDer,
    signature,
    issuerRaw: derWhole(der, issuerN),
    subjectRaw: derWhole(der, subjectN),
    issuerCn: derNameCn(der, issuerN),
    subjectCn: derNameCn(der, subjectN),
    notBefore: derTime(der, validity[0] as DerNode),
    notAfter: derTime(der, validity[1] as DerNode),
    spki: derWhole(der, spkiN),
    spkiAlgorithm,
    ...(curveNode?.tag === TAG_OID ? { spkiCurve: derOid(der, curveNode) } : {}),
    publicKeyBits,
    extensionList,
    extensions,
    ...constraints,
    ...(bc
      ? {
          basicConstraints: {
            ca: constraints.isCa,
            ...(constraints.pathLen !== undefined ? { pathLen: constraints.pathLen } : {}),
          },
        }
      : {}),
    ...(ku ? { keyUsage: keyUsageBits(ku.value) } : {}),
  };
}
