/**
 * The one DER reader (ITU-T X.690 §8 with the DER restrictions of §10): definite lengths only, each
 * length in its minimal form (short form below 128; long form only from 128 up and without a
 * leading zero byte, X.690 §10.1), single-byte tags (X.509 needs no others), bounded nesting, and
 * no trailing bytes at top level. It walks the bytes in place (no object model) because it sits on
 * the per-connection path: a certificate costs microseconds. Every failure is a `CertificateError`
 * with code `ERR_DER_MALFORMED` and the byte offset in its message.
 */
import { CertificateError } from '../errors.js';

/** One TLV: `buf[start]` is the tag byte, content is `[contentStart, end)`. */
export interface DerNode {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset one past the last content byte. */
  end: number;
}

/** Deepest nesting `readDer` accepts; X.509 and CRLs stay below 12. */
export const DER_MAX_DEPTH = 32;
/** Largest DER value `readDer` accepts (a 2 MiB CRL is the largest input ratls reads). */
export const DER_MAX_BYTES = 4 * 1024 * 1024;
/** Default bound on the children of one node (`derChildren`). CRL revoked lists pass their own. */
export const DER_MAX_CHILDREN = 4096;

export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTC_TIME = 0x17;
export const TAG_GENERALIZED_TIME = 0x18;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/**
 * The typed error of this stack.
 * @example throw derError('truncated header', 12) // CertificateError ERR_DER_MALFORMED
 */
export function derError(what: string, at: number): CertificateError {
  return new CertificateError('ERR_DER_MALFORMED', 'der', `DER: ${what} at offset ${at}`);
}

/**
 * Reads the TLV at `pos`, which must end at or before `limit`.
 * @example const n = derTlv(der, 0); n.tag === 0x30
 */
export function derTlv(buf: Uint8Array, pos: number, limit: number = buf.length): DerNode {
  if (pos + 2 > limit) throw derError('truncated header', pos);
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) throw derError('multi-byte tag', pos);
  let len = buf[pos + 1] as number;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is BER's indefinite form (X.690 §8.1.3.6), forbidden in DER (§10.1); more than four
    // length bytes would describe more than 4 GiB, far above any bound here.
    if (n === 0) throw derError('indefinite length', pos);
    if (n > 4) throw derError(`${n}-byte length`, pos);
    if (p + n > limit) throw derError('truncated length', pos);
    if (buf[p] === 0) throw derError('length with a leading zero byte (not minimal)', pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] as number);
    if (len < 0x80) throw derError(`long-form length ${len} (DER requires the short form)`, pos);
    p += n;
  }
  if (len > limit - p) throw derError(`length ${len} overruns its container`, pos);
  return { tag, start: pos, contentStart: p, end: p + len };
}

/**
 * Reads the TLV at `pos` and checks its tag.
 * @example const seq = derExpect(der, 0, der.length, 0x30, 'Certificate')
 */
export function derExpect(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): DerNode {
  const n = derTlv(buf, pos, limit);
  if (n.tag !== tag) {
    throw derError(`${what}: expected tag 0x${tag.toString(16)}, found 0x${n.tag.toString(16)}`, pos);
  }
  return n;
}

/**
 * The direct children of a constructed node, in order (at most `max`).
 * @example const [tbs, alg, sig] = derChildren(der, derTlv(der, 0))
 */
export function derChildren(buf: Uint8Array, node: DerNode, max: number = DER_MAX_CHILDREN): DerNode[] {
  const out: DerNode[] = [];
  for (let p = node.contentStart; p < node.end; ) {
    if (out.length >= max) throw derError(`more than ${max} elements`, node.start);
    const c = derTlv(buf, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

function walk(buf: Uint8Array, node: DerNode, depth: number): void {
  if (depth > DER_MAX_DEPTH) throw derError(`nesting deeper than ${DER_MAX_DEPTH}`, node.start);
  for (let p = node.contentStart; p < node.end; ) {
    const c = derTlv(buf, p, node.end);
    // Constructed (X.690 §8.1.2.5, bit 6): its content is again TLVs. Primitive content (OCTET
    // STRING, BIT STRING) is opaque here; readers that open it use `derTlv` again.
    if (c.tag & 0x20) walk(buf, c, depth + 1);
    p = c.end;
  }
}

/**
 * One whole DER value: a single TLV spanning all of `buf` (no trailing bytes), every constructed
 * node inside it well-formed and canonical, nesting at most `DER_MAX_DEPTH`, size at most `maxBytes`.
 * @example const top = readDer(certDer, 0x30)
 */
export function readDer(buf: Uint8Array, tag?: number, maxBytes: number = DER_MAX_BYTES): DerNode {
  if (!(buf instanceof Uint8Array)) throw derError('input is not bytes', 0);
  if (buf.length > maxBytes) throw derError(`${buf.length} bytes exceeds ${maxBytes}`, 0);
  const top = derTlv(buf, 0, buf.length);
  if (tag !== undefined && top.tag !== tag) {
    throw derError(`expected tag 0x${tag.toString(16)}, found 0x${top.tag.toString(16)}`, 0);
  }
  if (top.end !== buf.length) throw derError(`${buf.length - top.end} trailing bytes`, top.end);
  if (top.tag & 0x20) walk(buf, top, 1);
  return top;
}

/**
 * Content bytes of a node (a view, not a copy).
 * @example derContent(der, octetStringNode)
 */
export function derContent(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.contentStart, node.end);
}

/**
 * Tag, length and content of a node (a view, not a copy).
 * @example derWhole(der, tbsNode) // the signed tbsCertificate bytes
 */
export function derWhole(buf: Uint8Array, node: DerNode): Uint8Array {
  return buf.subarray(node.start, node.end);
}

/**
 * Non-negative INTEGER (X.690 §8.3) as a number, for SVNs and small counters; minimal encoding,
 * values below 2^48.
 * @example derSmallUint(der, versionNode) // 2 for an X.509 v3 certificate
 */
export function derSmallUint(buf: Uint8Array, node: DerNode): number {
  if (node.tag !== TAG_INTEGER) throw derError('expected INTEGER', node.start);
  const len = node.end - node.contentStart;
  if (len < 1 || len > 7) throw derError('INTEGER length out of range', node.start);
  const b0 = buf[node.contentStart] as number;
  if (b0 & 0x80) throw derError('negative INTEGER', node.start);
  // X.690 §8.3.2: no redundant leading zero byte.
  if (len > 1 && b0 === 0 && !((buf[node.contentStart + 1] as number) & 0x80)) {
    throw derError('INTEGER with a redundant leading zero', node.start);
  }
  let v = 0;
  for (let i = node.contentStart; i < node.end; i++) v = v * 256 + (buf[i] as number);
  return v;
}

/**
 * INTEGER content bytes (X.690 §8.3), checked minimal; serial numbers and CRL entries.
 * @example toHex(derIntegerBytes(der, serialNode))
 */
export function derIntegerBytes(buf: Uint8Array, node: DerNode): Uint8Array {
  if (node.tag !== TAG_INTEGER || node.end === node.contentStart) throw derError('expected INTEGER', node.start);
  if (
    node.end - node.contentStart > 1 &&
    ((buf[node.contentStart] === 0 && !((buf[node.contentStart + 1] as number) & 0x80)) ||
      (buf[node.contentStart] === 0xff && (buf[node.contentStart + 1] as number) & 0x80))
  ) {
    throw derError('INTEGER not minimally encoded', node.start);
  }
  return buf.subarray(node.contentStart, node.end);
}

/**
 * BOOLEAN (X.690 §11.1: DER writes TRUE as 0xFF, FALSE as 0x00, nothing else).
 * @example derBoolean(der, criticalNode)
 */
export function derBoolean(buf: Uint8Array, node: DerNode): boolean {
  if (node.tag !== TAG_BOOLEAN || node.end - node.contentStart !== 1) throw derError('expected BOOLEAN', node.start);
  const v = buf[node.contentStart];
  if (v === 0xff) return true;
  if (v === 0) return false;
  throw derError(`BOOLEAN 0x${(v as number).toString(16)} (DER allows 00 and ff)`, node.start);
}

/**
 * BIT STRING content without the unused-bits byte, which must be zero (signatures and keys are whole bytes).
 * @example derBitStringBytes(der, signatureNode)
 */
export function derBitStringBytes(buf: Uint8Array, node: DerNode, what: string): Uint8Array {
  if (node.tag !== TAG_BIT_STRING || node.end === node.contentStart || buf[node.contentStart] !== 0) {
    throw derError(`${what}: expected a BIT STRING of whole bytes`, node.start);
  }
  return buf.subarray(node.contentStart + 1, node.end);
}
