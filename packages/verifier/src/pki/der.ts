/**
 * A minimal, bounds-checked DER reader (ITU-T X.690 §8, definite lengths only). It exists for
 * speed: walking certificates and CRLs by hand costs microseconds, where general ASN.1 libraries
 * cost hundreds. Every failure is a `CertificateError` with code ERR_DER_MALFORMED.
 */
import { CertificateError } from '@ratls/evidence';

export interface DerNode {
  tag: number;
  /** Offset of the tag byte in `buf`. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
}

function malformed(what: string, at: number): never {
  throw new CertificateError('ERR_DER_MALFORMED', 'der', `DER: ${what} at offset ${at}`);
}

/** Reads the TLV at `pos`, which must end at or before `limit`. Only single-byte tags (all X.509 uses). */
export function readTlv(buf: Uint8Array, pos: number, limit: number = buf.length): DerNode {
  if (pos + 2 > limit) malformed('truncated header', pos);
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte tag not supported', pos);
  let len = buf[pos + 1] as number;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // DER: no indefinite length; at most 4 length bytes (inputs are bounded far below 4 GiB).
    if (n === 0 || n > 4) malformed('unsupported length form', pos);
    if (p + n > limit) malformed('truncated length', pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] as number);
    p += n;
  }
  const end = p + len;
  if (end > limit) malformed(`length ${len} overruns its container`, pos);
  return { tag, start: pos, contentStart: p, end };
}

/** Reads a TLV and checks its tag. */
export function expectTlv(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): DerNode {
  const n = readTlv(buf, pos, limit);
  if (n.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}, got 0x${n.tag.toString(16)}`, pos);
  return n;
}

/** All direct children of a constructed node. */
export function children(buf: Uint8Array, node: DerNode): DerNode[] {
  const out: DerNode[] = [];
  let p = node.contentStart;
  while (p < node.end) {
    const c = readTlv(buf, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

export function content(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.contentStart, node.end);
}

export function whole(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.start, node.end);
}

/** Non-negative INTEGER content as a number (SVNs, small counters); refuses values above 2^48. */
export function readSmallUint(buf: Uint8Array, node: DerNode): number {
  if (node.tag !== 0x02) malformed('expected INTEGER', node.start);
  const len = node.end - node.contentStart;
  if (len < 1 || len > 7) malformed('INTEGER length out of range', node.start);
  if ((buf[node.contentStart] as number) & 0x80) malformed('negative INTEGER', node.start);
  let v = 0;
  for (let i = node.contentStart; i < node.end; i++) v = v * 256 + (buf[i] as number);
  return v;
}

// Decoded OIDs by their content bytes: certificates repeat the same few dozen OIDs, and decoding
// them again on every parse was a measurable share of chain verification. Bounded; pure memo.
const oidMemo = new Map<string, string>();
const OID_MEMO_MAX = 512;

/** Dotted OID text of an OBJECT IDENTIFIER node (X.690 §8.19). */
export function readOid(buf: Uint8Array, node: DerNode): string {
  if (node.tag !== 0x06 || node.end === node.contentStart) malformed('expected OBJECT IDENTIFIER', node.start);
  const len = node.end - node.contentStart;
  if (len > 24) return decodeOid(buf, node);
  let key = '';
  for (let i = node.contentStart; i < node.end; i++) key += String.fromCharCode(buf[i] as number);
  let oid = oidMemo.get(key);
  if (oid === undefined) {
    oid = decodeOid(buf, node);
    if (oidMemo.size < OID_MEMO_MAX) oidMemo.set(key, oid);
  }
  return oid;
}

function decodeOid(buf: Uint8Array, node: DerNode): string {
  const parts: number[] = [];
  let v = 0;
  for (let i = node.contentStart; i < node.end; i++) {
    const b = buf[i] as number;
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) malformed('OID arc too large', node.start);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  if ((buf[node.end - 1] as number) & 0x80) malformed('truncated OID', node.start);
  return parts.join('.');
}

function digits(buf: Uint8Array, from: number, n: number, at: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = (buf[i] as number) - 0x30;
    if (c < 0 || c > 9) malformed('non-digit in time', at);
    v = v * 10 + c;
  }
  return v;
}

/** UTCTime (YYMMDDHHMMSSZ, RFC 5280 §4.1.2.5.1) or GeneralizedTime (YYYYMMDDHHMMSSZ) → unix seconds. */
export function readTime(buf: Uint8Array, node: DerNode): number {
  const s = node.contentStart;
  const len = node.end - s;
  let year: number;
  let p: number;
  if (node.tag === 0x17 && len === 13) {
    const yy = digits(buf, s, 2, node.start);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    p = s + 2;
  } else if (node.tag === 0x18 && len === 15) {
    year = digits(buf, s, 4, node.start);
    p = s + 4;
  } else {
    return malformed('unsupported time encoding', node.start);
  }
  if (buf[node.end - 1] !== 0x5a) malformed('time not in UTC (Z)', node.start);
  const mo = digits(buf, p, 2, node.start);
  const d = digits(buf, p + 2, 2, node.start);
  const h = digits(buf, p + 4, 2, node.start);
  const mi = digits(buf, p + 6, 2, node.start);
  const se = digits(buf, p + 8, 2, node.start);
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) malformed('time out of range', node.start);
  return Date.UTC(year, mo - 1, d, h, mi, se) / 1000;
}
