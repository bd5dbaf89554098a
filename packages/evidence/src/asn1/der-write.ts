/**
 * The DER writer beside the one reader (der.ts): definite lengths in their minimal form
 * (X.690 §10.1), single-byte tags. It writes only the few small structures ratls makes itself
 * (certificate extension values such as name constraints and UTF8String facts); certificates are
 * assembled by @peculiar/x509, which takes these values as opaque extension bytes.
 */
import { derError } from './der.js';

/** DER UTF8String (X.690 §8.23; tag 12). */
export const TAG_UTF8_STRING = 0x0c;
/** DER IA5String (tag 22). */
export const TAG_IA5_STRING = 0x16;
/** Largest value this writer makes: extension values are small, and a bound keeps it a writer of small things. */
export const DER_WRITE_MAX_BYTES = 64 * 1024;

/**
 * One TLV: `tag`, minimal definite length, then the concatenated `parts`.
 * @example derWrite(0x30, derWrite(0x02, Uint8Array.of(1))) // 30 03 02 01 01
 */
export function derWrite(tag: number, ...parts: Uint8Array[]): Uint8Array {
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xff || (tag & 0x1f) === 0x1f) throw derError('unwritable tag', 0);
  const n = parts.reduce((s, p) => s + p.length, 0);
  if (n > DER_WRITE_MAX_BYTES) throw derError(`value of ${n} bytes exceeds the writer bound`, 0);
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  let p = 1 + len.length;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
}

/**
 * DER UTF8String of `s`.
 * @example derUtf8String('sgx') // 0c 03 73 67 78
 */
export function derUtf8String(s: string): Uint8Array {
  return derWrite(TAG_UTF8_STRING, new TextEncoder().encode(s));
}
