/**
 * X.509 certificate parsing by a small DER walk (RFC 5280 §4.1), enough for chain checks: the
 * signed TBS bytes, signature, serial, raw issuer/subject names, validity, SPKI, basic constraints
 * and extensions. Hand-written for speed (a parse costs a few µs; node's X509Certificate ~140 µs).
 */
import { CertificateError, toHex } from '@ratls/evidence';
import { children, content, type DerNode, expectTlv, readOid, readSmallUint, readTime, readTlv, whole } from './der.js';

/** Certificates larger than this are refused (Intel PCK leaves are ~1.2 KiB). */
export const MAX_CERT_BYTES = 16 * 1024;

export interface CertExtension {
  critical: boolean;
  /** Content of the extnValue OCTET STRING. */
  value: Uint8Array;
}

export interface ParsedCertificate {
  der: Uint8Array;
  /** The DER of tbsCertificate: what the issuer signed. */
  tbs: Uint8Array;
  signatureAlgorithm: string;
  /** Signature value (for ECDSA: DER Ecdsa-Sig-Value). */
  signature: Uint8Array;
  /** Serial number INTEGER content bytes (as encoded, may have a leading zero). */
  serial: Uint8Array;
  serialHex: string;
  issuerRaw: Uint8Array;
  subjectRaw: Uint8Array;
  subjectCn: string;
  issuerCn: string;
  notBefore: number;
  notAfter: number;
  /** DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  spkiAlgorithm: string;
  spkiCurve?: string;
  /** BIT STRING content of the key (for EC: the point, 0x04 ‖ x ‖ y). */
  publicKeyBits: Uint8Array;
  /** basicConstraints cA; false when the extension is absent. */
  isCa: boolean;
  /** basicConstraints as encoded (RFC 5280 §4.2.1.9), or undefined when the extension is absent. */
  basicConstraints?: { ca: boolean; pathLen?: number };
  /** keyUsage bits (bit 0 = digitalSignature … bit 5 = keyCertSign, 6 = cRLSign), or undefined when absent. */
  keyUsage?: number;
  extensions: Map<string, CertExtension>;
}

export const OID_CN = '2.5.4.3';
export const OID_O = '2.5.4.10';
export const OID_L = '2.5.4.7';
export const OID_ST = '2.5.4.8';
export const OID_C = '2.5.4.6';
export const OID_OU = '2.5.4.11';
export const OID_BASIC_CONSTRAINTS = '2.5.29.19';
export const OID_KEY_USAGE = '2.5.29.15';
/** keyUsage bit numbers (RFC 5280 §4.2.1.3). */
export const KU_DIGITAL_SIGNATURE = 0;
export const KU_NON_REPUDIATION = 1;
export const KU_KEY_CERT_SIGN = 5;
export const KU_CRL_SIGN = 6;
/** Critical extensions this code understands (RFC 5280 §4.2: any other critical one is refused). */
export const KNOWN_CRITICAL_EXTENSIONS: ReadonlySet<string> = new Set([
  OID_BASIC_CONSTRAINTS,
  OID_KEY_USAGE,
  '2.5.29.37', // extKeyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.32', // certificatePolicies
]);

function bad(what: string): never {
  throw new CertificateError('ERR_CERT_MALFORMED', 'x509', `certificate: ${what}`);
}

/** The first CN attribute of a DER Name, or '' when absent. */
export function nameCn(buf: Uint8Array, name: DerNode): string {
  for (const rdn of children(buf, name)) {
    for (const atv of children(buf, rdn)) {
      const parts = children(buf, atv);
      const oid = parts[0];
      const val = parts[1];
      // id-at-commonName is 55 04 03; compared as bytes, this runs for every name in every chain.
      if (
        oid &&
        val &&
        oid.tag === 0x06 &&
        oid.end - oid.contentStart === 3 &&
        buf[oid.contentStart] === 0x55 &&
        buf[oid.contentStart + 1] === 0x04 &&
        buf[oid.contentStart + 2] === 0x03
      ) {
        return Buffer.from(buf.buffer, buf.byteOffset + val.contentStart, val.end - val.contentStart).toString('utf8');
      }
    }
  }
  return '';
}

/** One attribute of a distinguished name: its type OID and its string value (UTF-8 decoded). */
export interface NameAttribute {
  oid: string;
  value: string;
}

/** String types a DirectoryString may use (RFC 5280 §4.1.2.4): UTF8, Printable, IA5, Teletex. */
const NAME_STRING_TAGS: ReadonlySet<number> = new Set([0x0c, 0x13, 0x16, 0x14]);

/**
 * Decodes a DER Name (`subjectRaw` / `issuerRaw`) into its RDNs in order, each RDN's attributes in
 * encoded order. Parsed on demand (role checks only), so the chain hot path does not pay for it.
 * Throws `CertificateError` ERR_CERT_MALFORMED on a malformed name or a non-string value.
 * @example nameAttributes(cert.subjectRaw) // [[{ oid: '2.5.4.3', value: 'Intel SGX TCB Signing' }], …]
 */
export function nameAttributes(raw: Uint8Array): NameAttribute[][] {
  const name = expectTlv(raw, 0, raw.length, 0x30, 'Name');
  if (name.end !== raw.length) bad('trailing bytes after Name');
  return children(raw, name).map((rdn) => {
    if (rdn.tag !== 0x31) bad('RDN is not a SET');
    const atvs = children(raw, rdn);
    if (atvs.length === 0) bad('empty RDN');
    return atvs.map((atv) => {
      const [oidN, valN, extra] = children(raw, atv);
      if (atv.tag !== 0x30 || !oidN || !valN || extra || oidN.tag !== 0x06) bad('malformed AttributeTypeAndValue');
      if (!NAME_STRING_TAGS.has(valN.tag)) bad(`name attribute value has non-string tag 0x${valN.tag.toString(16)}`);
      return { oid: readOid(raw, oidN), value: Buffer.from(content(raw, valN)).toString('utf8') };
    });
  });
}

/** BIT STRING content without the unused-bits byte (which must be 0). */
export function bitString(buf: Uint8Array, node: DerNode, what: string): Uint8Array {
  if (node.tag !== 0x03 || node.end === node.contentStart || buf[node.contentStart] !== 0)
    bad(`${what}: bad BIT STRING`);
  return buf.subarray(node.contentStart + 1, node.end);
}

/**
 * Parses one DER certificate. Throws `CertificateError` ERR_CERT_MALFORMED / ERR_DER_MALFORMED.
 * @example const c = parseCertificate(der); console.log(c.subjectCn, c.notAfter)
 */
export function parseCertificate(der: Uint8Array): ParsedCertificate {
  if (der.length > MAX_CERT_BYTES) bad(`${der.length} bytes exceeds ${MAX_CERT_BYTES}`);
  const top = expectTlv(der, 0, der.length, 0x30, 'Certificate');
  if (top.end !== der.length) bad('trailing bytes after Certificate');
  const [tbsN, algN, sigN] = children(der, top);
  if (!tbsN || !algN || !sigN || tbsN.tag !== 0x30 || algN.tag !== 0x30) bad('expected tbs, algorithm, signature');
  const algOid = children(der, algN)[0];
  if (!algOid) bad('empty signatureAlgorithm');
  const signatureAlgorithm = readOid(der, algOid);
  const signature = bitString(der, sigN, 'signatureValue');

  const f = children(der, tbsN);
  let i = 0;
  if (f[0]?.tag === 0xa0) i = 1; // [0] version
  const serialN = f[i++];
  const innerAlg = f[i++];
  const issuerN = f[i++];
  const validityN = f[i++];
  const subjectN = f[i++];
  const spkiN = f[i++];
  if (!serialN || serialN.tag !== 0x02) bad('missing serialNumber');
  if (!innerAlg || innerAlg.tag !== 0x30) bad('missing signature algorithm in TBS');
  const innerOid = children(der, innerAlg)[0];
  if (!innerOid || readOid(der, innerOid) !== signatureAlgorithm) bad('TBS and outer signature algorithms differ');
  if (!issuerN || issuerN.tag !== 0x30 || !subjectN || subjectN.tag !== 0x30) bad('missing issuer or subject');
  if (!validityN || validityN.tag !== 0x30) bad('missing validity');
  if (!spkiN || spkiN.tag !== 0x30) bad('missing subjectPublicKeyInfo');
  const [nb, na] = children(der, validityN);
  if (!nb || !na) bad('incomplete validity');

  const [spkiAlg, spkiBits] = children(der, spkiN);
  if (!spkiAlg || !spkiBits || spkiAlg.tag !== 0x30) bad('malformed subjectPublicKeyInfo');
  const spkiAlgParts = children(der, spkiAlg);
  const spkiAlgOid = spkiAlgParts[0];
  if (!spkiAlgOid) bad('empty SPKI algorithm');
  const curveNode = spkiAlgParts[1];

  const extensions = new Map<string, CertExtension>();
  let isCa = false;
  let basicConstraints: { ca: boolean; pathLen?: number } | undefined;
  let keyUsage: number | undefined;
  for (; i < f.length; i++) {
    const n = f[i] as DerNode;
    if (n.tag !== 0xa3) continue; // [1]/[2] unique IDs are ignored
    const seq = expectTlv(der, n.contentStart, n.end, 0x30, 'extensions');
    for (const ext of children(der, seq)) {
      const parts = children(der, ext);
      const oidN = parts[0];
      if (!oidN) bad('empty extension');
      let critical = false;
      let valN = parts[1];
      if (valN?.tag === 0x01) {
        critical = der[valN.contentStart] !== 0;
        valN = parts[2];
      }
      if (!valN || valN.tag !== 0x04) bad('extension without OCTET STRING value');
      const oid = readOid(der, oidN);
      if (extensions.has(oid)) bad(`duplicate extension ${oid}`);
      extensions.set(oid, { critical, value: content(der, valN) });
      if (oid === OID_BASIC_CONSTRAINTS) {
        const v = content(der, valN);
        const bc = expectTlv(v, 0, v.length, 0x30, 'basicConstraints');
        const first = bc.contentStart < bc.end ? readTlv(v, bc.contentStart, bc.end) : undefined;
        isCa = first?.tag === 0x01 && v[first.contentStart] !== 0;
        // pathLenConstraint follows cA, or comes first when cA (DEFAULT FALSE) is omitted.
        const parts = children(v, bc);
        const lenN = parts[first?.tag === 0x01 ? 1 : 0];
        basicConstraints = { ca: isCa, ...(lenN?.tag === 0x02 ? { pathLen: readSmallUint(v, lenN) } : {}) };
      } else if (oid === OID_KEY_USAGE) {
        const v = content(der, valN);
        const ku = expectTlv(v, 0, v.length, 0x03, 'keyUsage');
        // BIT STRING: first content byte is the unused-bit count, then bits 0..15 MSB first.
        keyUsage = 0;
        for (let k = ku.contentStart + 1, bit = 0; k < ku.end && bit < 16; k++, bit += 8) {
          const byte = v[k] as number;
          for (let j = 0; j < 8; j++) if (byte & (0x80 >> j)) keyUsage |= 1 << (bit + j);
        }
      }
    }
  }

  const serial = content(der, serialN);
  return {
    der,
    tbs: whole(der, tbsN),
    signatureAlgorithm,
    signature,
    serial,
    serialHex: toHex(serial),
    issuerRaw: whole(der, issuerN),
    subjectRaw: whole(der, subjectN),
    subjectCn: nameCn(der, subjectN),
    issuerCn: nameCn(der, issuerN),
    notBefore: readTime(der, nb),
    notAfter: readTime(der, na),
    spki: whole(der, spkiN),
    spkiAlgorithm: readOid(der, spkiAlgOid),
    ...(curveNode?.tag === 0x06 ? { spkiCurve: readOid(der, curveNode) } : {}),
    publicKeyBits: bitString(der, spkiBits, 'subjectPublicKey'),
    isCa,
    ...(basicConstraints ? { basicConstraints } : {}),
    ...(keyUsage !== undefined ? { keyUsage } : {}),
    extensions,
  };
}

const PEM_BEGIN = '-----BEGIN CERTIFICATE-----';
const PEM_END = '-----END CERTIFICATE-----';
const B64_BODY = /^[A-Za-z0-9+/=\s]*$/;
/** Largest PEM chain text accepted. */
export const MAX_PEM_CHAIN_BYTES = 64 * 1024;

/**
 * Splits PEM text into certificate DERs (in order). Refuses oversized text, more than `maxCerts`
 * certificates, or none at all.
 * @example const ders = pemToDers(chainPem)
 */
export function pemToDers(pem: string, maxCerts = 8): Uint8Array[] {
  if (typeof pem !== 'string') bad('PEM chain must be text');
  if (pem.length > MAX_PEM_CHAIN_BYTES) bad(`PEM chain exceeds ${MAX_PEM_CHAIN_BYTES} bytes`);
  const out: Uint8Array[] = [];
  let p = 0;
  for (;;) {
    const b = pem.indexOf(PEM_BEGIN, p);
    if (b < 0) break;
    const e = pem.indexOf(PEM_END, b + PEM_BEGIN.length);
    if (e < 0) bad('PEM certificate without END line');
    if (out.length >= maxCerts) bad(`PEM chain has more than ${maxCerts} certificates`);
    const body = pem.slice(b + PEM_BEGIN.length, e);
    if (!B64_BODY.test(body)) bad('PEM certificate body is not base64');
    // Node's base64 decoder skips the line breaks.
    out.push(new Uint8Array(Buffer.from(body, 'base64')));
    p = e + PEM_END.length;
  }
  if (out.length === 0) bad('no PEM certificate found');
  return out;
}
