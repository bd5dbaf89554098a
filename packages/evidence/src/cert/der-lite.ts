/**
 * A small bounds-checked DER reader (ITU-T X.690 §8; definite lengths, single-byte tags) for the
 * few certificate fields RA-TLS needs. It replaces a general ASN.1 library on the per-connection
 * path: walking a 10 KiB certificate by hand costs microseconds.
 */
import { CertificateError } from '../errors.js';

export interface Tlv {
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

function malformed(what: string, at: number): never {
  throw new CertificateError('ERR_CERT_PARSE', 'certificate', `certificate: ${what} at offset ${at}`);
}

/** The TLV at `pos`, which must end at or before `limit`. */
export function tlv(buf: Uint8Array, pos: number, limit: number = buf.length): Tlv {
  if (pos + 2 > limit) malformed('truncated DER header', pos);
  const tag = buf[pos] as number;
  if ((tag & 0x1f) === 0x1f) malformed('multi-byte DER tag', pos);
  let len = buf[pos + 1] as number;
  let p = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) malformed('unsupported DER length form', pos);
    if (p + n > limit) malformed('truncated DER length', pos);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (buf[p + i] as number);
    p += n;
  }
  if (len > limit - p) malformed(`DER length ${len} overruns its container`, pos);
  return { tag, start: pos, contentStart: p, end: p + len };
}

export function expect(buf: Uint8Array, pos: number, limit: number, tag: number, what: string): Tlv {
  const n = tlv(buf, pos, limit);
  if (n.tag !== tag) malformed(`${what}: expected tag 0x${tag.toString(16)}, found 0x${n.tag.toString(16)}`, pos);
  return n;
}

export function childrenOf(buf: Uint8Array, node: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let p = node.contentStart; p < node.end; ) {
    const c = tlv(buf, p, node.end);
    out.push(c);
    p = c.end;
  }
  return out;
}

/** Dotted text of an OBJECT IDENTIFIER's content (X.690 §8.19), as every parser reads it. */
export function oidText(buf: Uint8Array, node: Tlv): string {
  if (node.tag !== 0x06 || node.end === node.contentStart) malformed('expected OBJECT IDENTIFIER', node.start);
  if ((buf[node.end - 1] as number) & 0x80) malformed('truncated OBJECT IDENTIFIER', node.start);
  const parts: number[] = [];
  let v = 0;
  for (let i = node.contentStart; i < node.end; i++) {
    const b = buf[i] as number;
    v = v * 128 + (b & 0x7f);
    if (v > 0xffffffffff) malformed('OBJECT IDENTIFIER arc too large', node.start);
    if (!(b & 0x80)) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}
