/** X.501 Name helpers (RFC 5280 §4.1.2.4): the raw DER is what chains compare; the CN is for messages. */
import { type DerNode, derChildren, derContent, derError, readDer, TAG_OID, TAG_SEQUENCE, TAG_SET } from './der.js';
import { derOid } from './oid.js';

/**
 * The first commonName (2.5.4.3) of a DER Name, or '' when absent.
 * @example derNameCn(der, subjectNode) // 'Intel SGX PCK Certificate'
 */
export function derNameCn(buf: Uint8Array, name: DerNode): string {
  for (const rdn of derChildren(buf, name, 64)) {
    for (const atv of derChildren(buf, rdn, 16)) {
      const [oid, val] = derChildren(buf, atv, 2);
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

/**
 * Checks the shape of a Name: SEQUENCE OF RelativeDistinguishedName (SET SIZE (1..MAX) OF
 * AttributeTypeAndValue ::= SEQUENCE { type OID, value ANY }), as X.501 and RFC 5280 §4.1.2.4 define it.
 * @example checkDerName(der, issuerNode)
 */
export function checkDerName(buf: Uint8Array, name: DerNode): void {
  if (name.tag !== TAG_SEQUENCE) throw derError('Name is not a SEQUENCE', name.start);
  for (const rdn of derChildren(buf, name, 64)) {
    if (rdn.tag !== TAG_SET || rdn.end === rdn.contentStart) throw derError('RDN is not a non-empty SET', rdn.start);
    for (const atv of derChildren(buf, rdn, 16)) {
      const parts = derChildren(buf, atv, 2);
      if (atv.tag !== TAG_SEQUENCE || parts.length !== 2 || parts[0]?.tag !== TAG_OID) {
        throw derError('AttributeTypeAndValue is not (OID, value)', atv.start);
      }
    }
  }
}

/** One attribute of a distinguished name: its type OID and its string value (UTF-8 decoded). */
export interface NameAttribute {
  oid: string;
  value: string;
}

/** String types a DirectoryString may use (RFC 5280 §4.1.2.4): UTF8, Printable, IA5, Teletex. */
const NAME_STRING_TAGS: ReadonlySet<number> = new Set([0x0c, 0x13, 0x16, 0x14]);

/**
 * Decodes a whole DER Name (a certificate's `subjectRaw` / `issuerRaw`) into its RDNs in order,
 * each RDN's attributes in encoded order. Decoded on demand (signer-role checks), so the chain hot
 * path does not pay for it. Throws `CertificateError` ERR_DER_MALFORMED on a malformed name or a
 * value that is not a directory string.
 * @example derNameAttributes(cert.subjectRaw) // [[{ oid: '2.5.4.3', value: 'Intel SGX TCB Signing' }], …]
 */
export function derNameAttributes(raw: Uint8Array): NameAttribute[][] {
  const name = readDer(raw, TAG_SEQUENCE);
  checkDerName(raw, name);
  return derChildren(raw, name, 64).map((rdn) =>
    derChildren(raw, rdn, 16).map((atv) => {
      const [oidN, valN] = derChildren(raw, atv, 2) as [DerNode, DerNode];
      if (!NAME_STRING_TAGS.has(valN.tag)) {
        throw derError(`name attribute value has non-string tag 0x${valN.tag.toString(16)}`, valN.start);
      }
      return { oid: derOid(raw, oidN), value: Buffer.from(derContent(raw, valN)).toString('utf8') };
    }),
  );
}

/** Short names for display (RFC 4514 §3, plus the ones OpenSSL and @peculiar/x509 print). */
const SHORT_NAMES: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['2.5.4.6', 'C'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['1.2.840.113549.1.9.1', 'E'],
  ['2.5.4.42', 'G'],
  ['2.5.4.43', 'I'],
  ['2.5.4.4', 'SN'],
  ['2.5.4.12', 'T'],
]);

const SPECIALS = new Set([',', '+', '"', '\\', '<', '>', ';']);

/** RFC 4514 §2.4 escaping; control characters as `\XX` so a name never breaks a log line. */
function escapeValue(v: string): string {
  let out = '';
  for (const c of v) {
    const code = c.codePointAt(0) as number;
    if (code < 0x20 || code === 0x7f) out += `\\${code.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += SPECIALS.has(c) ? `\\${c}` : c;
  }
  return out.replace(/^[ #]/, (c) => `\\${c}`).replace(/ $/, '\\ ');
}

/**
 * A DER Name as display text, RDNs in encoded order joined by ", " and multi-valued RDNs by "+"
 * (the form OpenSSL's and @peculiar/x509's one-line output take). For messages and results only:
 * chains compare the raw DER. Throws `CertificateError` ERR_DER_MALFORMED as `derNameAttributes`.
 * @example derNameText(cert.subjectRaw) // 'CN=RATLS, O=GramineDevelopers, C=US'
 */
export function derNameText(raw: Uint8Array): string {
  return derNameAttributes(raw)
    .map((rdn) => rdn.map((a) => `${SHORT_NAMES.get(a.oid) ?? a.oid}=${escapeValue(a.value)}`).join('+'))
    .join(', ');
}
