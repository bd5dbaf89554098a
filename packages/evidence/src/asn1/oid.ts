/** OBJECT IDENTIFIER decoding (X.690 §8.19), memoised: certificates repeat the same few dozen OIDs. */
import { type DerNode, derError, TAG_OID } from './der.js';

const memo = new Map<string, string>();
const MEMO_MAX = 512;
/** Longest OID content accepted (the longest OIDs ratls meets are ~12 bytes). */
export const OID_MAX_BYTES = 64;

function decode(buf: Uint8Array, node: DerNode): string {
  const parts: number[] = [];
  let v = 0;
  let fresh = true;
  for (let i = node.contentStart; i < node.end; i++) {
    const b = buf[i] as number;
    // §8.19.2: each subidentifier in the fewest octets, so it never starts with 0x80.
    if (fresh && b === 0x80) throw derError('OBJECT IDENTIFIER arc with a leading 0x80', node.start);
    v = v * 128 + (b & 0x7f);
    if (v > Number.MAX_SAFE_INTEGER / 256) throw derError('OBJECT IDENTIFIER arc too large', node.start);
    fresh = !(b & 0x80);
    if (fresh) {
      if (parts.length === 0) {
        const first = v < 80 ? Math.floor(v / 40) : 2;
        parts.push(first, v - first * 40);
      } else parts.push(v);
      v = 0;
    }
  }
  if (!fresh) throw derError('truncated OBJECT IDENTIFIER', node.start);
  return parts.join('.');
}

/**
 * Dotted text of an OBJECT IDENTIFIER node.
 * @example derOid(der, algNode) // '1.2.840.10045.4.3.2'
 */
export function derOid(buf: Uint8Array, node: DerNode): string {
  const len = node.end - node.contentStart;
  if (node.tag !== TAG_OID || len === 0) throw derError('expected OBJECT IDENTIFIER', node.start);
  if (len > OID_MAX_BYTES) throw derError(`OBJECT IDENTIFIER of ${len} bytes`, node.start);
  let key = '';
  for (let i = node.contentStart; i < node.end; i++) key += String.fromCharCode(buf[i] as number);
  let oid = memo.get(key);
  if (oid === undefined) {
    oid = decode(buf, node);
    if (memo.size < MEMO_MAX) memo.set(key, oid);
  }
  return oid;
}
