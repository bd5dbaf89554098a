import { EvidenceParseError } from '../errors.js';

/** One DER TLV (ITU-T X.690 §8.1): tag byte, value range [start, end). */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  off: number;
  start: number;
  end: number;
}

function fail(what: string, msg: string): EvidenceParseError {
  return new EvidenceParseError('ERR_SNP_VCEK_INVALID', 'parse', `${what}: malformed DER (${msg})`);
}

/**
 * Reads one TLV at `off`, within `[off, limit)`. Single-byte tags and definite lengths up to 4 bytes
 * only (X.509 never needs more); anything else is a typed error, never a RangeError.
 */
export function readTlv(b: Uint8Array, off: number, limit: number, what: string): Tlv {
  if (off + 2 > limit || limit > b.length) throw fail(what, `truncated at ${off}`);
  const tag = b[off] as number;
  if ((tag & 0x1f) === 0x1f) throw fail(what, `multi-byte tag at ${off}`);
  const first = b[off + 1] as number;
  let len = first;
  let start = off + 2;
  if (first & 0x80) {
    const n = first & 0x7f;
    if (n === 0 || n > 4) throw fail(what, `unsupported length form at ${off}`);
    if (start + n > limit) throw fail(what, `truncated length at ${off}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (b[start + i] as number);
    start += n;
  }
  if (len > limit - start) throw fail(what, `length ${len} at ${off} overruns its container`);
  return { tag, off, start, end: start + len };
}

/** Children of a constructed TLV, in order. */
export function children(b: Uint8Array, t: Tlv, what: string, max = 64): Tlv[] {
  const out: Tlv[] = [];
  for (let p = t.start; p < t.end; ) {
    if (out.length >= max) throw fail(what, `more than ${max} elements`);
    const c = readTlv(b, p, t.end, what);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Dotted OID text from an OBJECT IDENTIFIER value (X.690 §8.19). */
export function oidText(b: Uint8Array, t: Tlv, what: string): string {
  if (t.tag !== 0x06 || t.end - t.start < 1 || t.end - t.start > 64) throw fail(what, 'not an OID');
  const parts: number[] = [];
  let v = 0;
  for (let i = t.start; i < t.end; i++) {
    const x = b[i] as number;
    v = v * 128 + (x & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 128) throw fail(what, 'OID arc too large');
    if ((x & 0x80) === 0) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  if ((b[t.end - 1] as number) & 0x80) throw fail(what, 'truncated OID');
  return parts.join('.');
}

export interface CertificateParts {
  /** Certificate.signatureAlgorithm: OID and the raw parameters TLV bytes (if any). */
  signatureAlgorithm: { oid: string; params?: Uint8Array };
  /** extnID → extnValue (the OCTET STRING contents). */
  extensions: Map<string, Uint8Array>;
}

/**
 * Splits an X.509 certificate (RFC 5280 §4.1) into the parts the SNP checks need: the outer
 * signature algorithm and the extensions. Light and bounded: no full ASN.1 object model.
 * @example certificateParts(vcekDer).extensions.get('1.3.6.1.4.1.3704.1.3.3')
 */
export function certificateParts(der: Uint8Array, what = 'certificate'): CertificateParts {
  const cert = readTlv(der, 0, der.length, what);
  if (cert.tag !== 0x30 || cert.end !== der.length) throw fail(what, 'not a single SEQUENCE');
  const [tbs, alg, sig] = children(der, cert, what, 3);
  if (!tbs || !alg || !sig || tbs.tag !== 0x30 || alg.tag !== 0x30 || sig.tag !== 0x03)
    throw fail(what, 'not a Certificate');
  const algParts = children(der, alg, what, 2);
  const oid = oidText(der, algParts[0] as Tlv, what);
  const p = algParts[1];
  const signatureAlgorithm = p ? { oid, params: der.slice(p.off, p.end) } : { oid };
  const extensions = new Map<string, Uint8Array>();
  const extWrap = children(der, tbs, what, 12).find((t) => t.tag === 0xa3);
  if (extWrap) {
    const seq = readTlv(der, extWrap.start, extWrap.end, what);
    if (seq.tag !== 0x30) throw fail(what, 'extensions are not a SEQUENCE');
    for (const e of children(der, seq, what, 64)) {
      const parts = children(der, e, what, 3);
      const id = oidText(der, parts[0] as Tlv, what);
      const value = parts[parts.length - 1] as Tlv;
      if (parts.length < 2 || value.tag !== 0x04) throw fail(what, `extension ${id} has no OCTET STRING value`);
      if (extensions.has(id)) throw fail(what, `duplicate extension ${id}`);
      extensions.set(id, der.slice(value.start, value.end));
    }
  }
  return { signatureAlgorithm, extensions };
}
