/**
 * Fast path for the DCAP role checks' exact-name comparisons (roles.ts). The reference is
 * `nameAttributes` (the stack's `derNameAttributes`): it re-walks the subject, builds every
 * attribute's OID text and decodes every value to a string, on every cold appraisal for the PCK
 * leaf, the PCK CA and the TCB signer. Here the subject is read in place and compared as bytes.
 *
 * Sound because it only ever says "matches": a name this reader does not take in its simple form
 * (a multi-valued or empty RDN, a value that is not a directory string, any DER oddity) or that
 * does not match returns false, and the caller then runs the reference decode, which decides and
 * names the failure with the code it always had. A match here implies the reference decode
 * succeeds and matches: every TLV is read by the one DER reader (`derTlv`: canonical lengths,
 * bounds), each OID by `derOid`, every value tag is one `derNameAttributes` accepts, and the
 * expected values are ASCII, so the value bytes equal the expected text's bytes exactly when the
 * UTF-8 decoded text equals it (a non-ASCII or invalid byte decodes to a non-ASCII character).
 */
import { type DerNode, derOid, derTlv, TAG_OID, TAG_SEQUENCE, TAG_SET } from '@ratls/evidence';

/** The directory string tags `derNameAttributes` decodes (UTF8, Printable, IA5, Teletex). */
const STRING_TAGS: ReadonlySet<number> = new Set([0x0c, 0x13, 0x16, 0x14]);
/** As `checkDerName`: at most this many RDNs. */
const MAX_RDNS = 64;

/** One single-valued RDN read in place: the attribute's OID text and its value's content bytes. */
export interface SimpleAttribute {
  oid: string;
  start: number;
  end: number;
}

/**
 * The RDNs of a DER Name when each holds exactly one attribute with a directory string value;
 * undefined for anything else (the caller falls back to the reference decode).
 * @example simpleRdns(cert.subjectRaw)?.length // 5 for an Intel CA subject
 */
export function simpleRdns(raw: Uint8Array): SimpleAttribute[] | undefined {
  try {
    const top = derTlv(raw, 0, raw.length);
    if (top.tag !== TAG_SEQUENCE || top.end !== raw.length) return undefined;
    const out: SimpleAttribute[] = [];
    for (let p = top.contentStart; p < top.end; ) {
      if (out.length >= MAX_RDNS) return undefined;
      const rdn: DerNode = derTlv(raw, p, top.end);
      if (rdn.tag !== TAG_SET || rdn.end === rdn.contentStart) return undefined;
      const atv = derTlv(raw, rdn.contentStart, rdn.end);
      // Exactly one AttributeTypeAndValue in the SET, of exactly (OID, value).
      if (atv.tag !== TAG_SEQUENCE || atv.end !== rdn.end) return undefined;
      const oidN = derTlv(raw, atv.contentStart, atv.end);
      if (oidN.tag !== TAG_OID || oidN.end === atv.end) return undefined;
      const valN = derTlv(raw, oidN.end, atv.end);
      if (valN.end !== atv.end || !STRING_TAGS.has(valN.tag)) return undefined;
      out.push({ oid: derOid(raw, oidN), start: valN.contentStart, end: valN.end });
      p = rdn.end;
    }
    return out;
  } catch {
    return undefined;
  }
}

/** True when raw[start, end) are exactly the bytes of the ASCII text `s` (false for non-ASCII `s`). */
export function asciiBytesEqual(raw: Uint8Array, start: number, end: number, s: string): boolean {
  if (end - start !== s.length) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f || raw[start + i] !== c) return false;
  }
  return true;
}

/**
 * True when the name is exactly `want`, RDN by RDN (the fast form of `dnEquals(nameAttributes(raw), want)`).
 * @example subjectIsExactly(signer.subjectRaw, INTEL_DCAP_ROLES.tcbSigner)
 */
export function subjectIsExactly(raw: Uint8Array, want: readonly (readonly [string, string])[]): boolean {
  const rdns = simpleRdns(raw);
  if (!rdns || rdns.length !== want.length) return false;
  for (let i = 0; i < rdns.length; i++) {
    const a = rdns[i] as SimpleAttribute;
    const w = want[i] as readonly [string, string];
    if (a.oid !== w[0] || !asciiBytesEqual(raw, a.start, a.end, w[1])) return false;
  }
  return true;
}

/**
 * True when the name has exactly one attribute of type `oid` and its value is one of `values`
 * (the fast form of `onlyCn(nameAttributes(raw))` compared with each value).
 * @example soleAttributeIs(ca.subjectRaw, OID_CN, ['Intel SGX PCK Platform CA', 'Intel SGX PCK Processor CA'])
 */
export function soleAttributeIs(raw: Uint8Array, oid: string, values: readonly string[]): boolean {
  const rdns = simpleRdns(raw);
  if (!rdns) return false;
  let found: SimpleAttribute | undefined;
  for (const a of rdns) {
    if (a.oid !== oid) continue;
    if (found) return false;
    found = a;
  }
  if (!found) return false;
  const { start, end } = found;
  return values.some((v) => asciiBytesEqual(raw, start, end, v));
}
