/**
 * The one CRL parser (RFC 5280 §5.1): signed TBS bytes, signature algorithm (outer equal to the TBS
 * copy), issuer, thisUpdate/nextUpdate, and the revoked list, left unparsed until `crlRevokes`
 * scans it for one serial (large CRLs stay cheap). Failures: `ERR_CRL_TOO_LARGE`,
 * `ERR_CRL_MALFORMED` (structure), `ERR_DER_MALFORMED` (encoding).
 */
import { bytesEqual } from '../bytes.js';
import { CertificateError } from '../errors.js';
import {
  type DerNode,
  derBitStringBytes,
  derChildren,
  derIntegerBytes,
  derSmallUint,
  derTlv,
  derWhole,
  readDer,
  TAG_BIT_STRING,
  TAG_GENERALIZED_TIME,
  TAG_INTEGER,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_UTC_TIME,
} from './der.js';
import { checkDerName, derNameCn } from './name.js';
import { derOid } from './oid.js';
import { derTime } from './time.js';

/** CRLs larger than this are refused (Intel's PCK CRLs are a few KiB, AMD's under 2 KiB). */
export const CRL_MAX_BYTES = 2 * 1024 * 1024;

export interface CrlParts {
  der: Uint8Array;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  issuerCn: string;
  /** Unix seconds. */
  thisUpdate: number;
  /** Unix seconds; undefined when the CRL has none. */
  nextUpdate?: number;
  /** The revokedCertificates SEQUENCE, or undefined when absent. */
  revoked?: DerNode;
}

/** The TBS field starting at `p`, or undefined at the end of `tbs`. */
function nextField(der: Uint8Array, tbs: DerNode, p: number): DerNode | undefined {
  return p >= tbs.end ? undefined : derTlv(der, p, tbs.end);
}

function isTime(n: DerNode | undefined): n is DerNode {
  return n !== undefined && (n.tag === TAG_UTC_TIME || n.tag === TAG_GENERALIZED_TIME);
}

/**
 * Parses a DER CRL strictly.
 * @example const crl = parseCrlDer(pckCrlDer); crl.nextUpdate
 */
export function parseCrlDer(der: Uint8Array, maxBytes: number = CRL_MAX_BYTES): CrlParts {
  if (der.length > maxBytes) {
    throw new CertificateError('ERR_CRL_TOO_LARGE', 'crl', `CRL: ${der.length} bytes exceeds ${maxBytes}`);
  }
  const top = readDer(der, TAG_SEQUENCE, maxBytes);
  const [tbsN, algN, sigN, extra] = derChildren(der, top, 4);
  if (!tbsN || !algN || !sigN || extra || tbsN.tag !== TAG_SEQUENCE || algN.tag !== TAG_SEQUENCE) {
    throw new CertificateError(
      'ERR_CRL_MALFORMED',
      'crl',
      'CRL: not (tbsCertList, signatureAlgorithm, signatureValue)',
    );
  }
  const algOid = derChildren(der, algN, 2)[0];
  if (algOid?.tag !== TAG_OID) throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: empty signatureAlgorithm');
  const signatureAlgorithm = derOid(der, algOid);
  if (sigN.tag !== TAG_BIT_STRING)
    throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: signatureValue is not a BIT STRING');
  const signature = derBitStringBytes(der, sigN, 'CRL signature');
  // Walk the TBS one field at a time so the (possibly long) revoked list is not split. A module
  // function from the end of the previous field, not a closure made per parse (under tsx a named
  // closure also costs a `__name` definition per call: a share of a cold DCAP appraisal).
  let n = nextField(der, tbsN, tbsN.contentStart);
  if (n?.tag === TAG_INTEGER) {
    // RFC 5280 §5.1.2.1: version, if present, MUST be v2 (1).
    if (derSmallUint(der, n) !== 1) throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: version is not v2');
    n = nextField(der, tbsN, n.end);
  }
  if (n?.tag !== TAG_SEQUENCE)
    throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: missing signature algorithm in TBS');
  // RFC 5280 §5.1.1.2: the same algorithm as the outer field.
  const inner = derWhole(der, n);
  const outer = derWhole(der, algN);
  if (!bytesEqual(inner, outer)) {
    throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: TBS signature algorithm differs from the outer field');
  }
  const issuerN = nextField(der, tbsN, n.end);
  if (issuerN?.tag !== TAG_SEQUENCE) throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: missing issuer');
  checkDerName(der, issuerN);
  const thisN = nextField(der, tbsN, issuerN.end);
  if (!isTime(thisN)) throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: missing thisUpdate');
  const thisUpdate = derTime(der, thisN);
  let nextUpdate: number | undefined;
  let revoked: DerNode | undefined;
  n = nextField(der, tbsN, thisN.end);
  if (isTime(n)) {
    nextUpdate = derTime(der, n);
    n = nextField(der, tbsN, n.end);
  }
  if (n?.tag === TAG_SEQUENCE) {
    revoked = n;
    n = nextField(der, tbsN, n.end);
  }
  if (n?.tag === 0xa0) n = nextField(der, tbsN, n.end); // [0] crlExtensions
  if (n)
    throw new CertificateError('ERR_CRL_MALFORMED', 'crl', `CRL: unexpected TBS field tag 0x${n.tag.toString(16)}`);
  return {
    der,
    tbs: derWhole(der, tbsN),
    signatureAlgorithm,
    signature,
    issuerRaw: derWhole(der, issuerN),
    issuerCn: derNameCn(der, issuerN),
    thisUpdate,
    ...(nextUpdate !== undefined ? { nextUpdate } : {}),
    ...(revoked ? { revoked } : {}),
  };
}

/** INTEGER content without sign-padding zero bytes, so serials compare by value. */
function trimSerial(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/**
 * Every revoked serial (INTEGER content, leading zeros trimmed), at most `max`.
 * @example for (const s of crlRevokedSerials(crl)) console.log(toHex(s))
 */
export function crlRevokedSerials(crl: CrlParts, max = 1_000_000): Uint8Array[] {
  if (!crl.revoked) return [];
  const out: Uint8Array[] = [];
  for (const entry of derChildren(crl.der, crl.revoked, max)) {
    if (entry.tag !== TAG_SEQUENCE)
      throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: revoked entry is not a SEQUENCE');
    const s = derChildren(crl.der, entry, 3)[0];
    if (s?.tag !== TAG_INTEGER)
      throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: revoked entry without serial');
    out.push(trimSerial(derIntegerBytes(crl.der, s)));
  }
  return out;
}

/**
 * True when `serial` (INTEGER content bytes) is listed in the CRL.
 * @example crlRevokes(crl, leaf.serial)
 */
export function crlRevokes(crl: CrlParts, serial: Uint8Array): boolean {
  if (!crl.revoked) return false;
  const want = trimSerial(serial);
  const der = crl.der;
  for (let p = crl.revoked.contentStart; p < crl.revoked.end; ) {
    const entry = derTlv(der, p, crl.revoked.end);
    const s = derTlv(der, entry.contentStart, entry.end);
    if (s.tag !== TAG_INTEGER)
      throw new CertificateError('ERR_CRL_MALFORMED', 'crl', 'CRL: revoked entry without serial');
    const got = trimSerial(der.subarray(s.contentStart, s.end));
    if (bytesEqual(got, want)) return true;
    p = entry.end;
  }
  return false;
}
