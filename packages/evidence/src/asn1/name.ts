/** X.501 Name helpers (RFC 5280 §4.1.2.4): the raw DER is what chains compare; the CN is for messages. */
import { type DerNode, derChildren, derError, TAG_OID, TAG_SEQUENCE, TAG_SET } from './der.js';

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
