/** Byte helpers. Hex appears only at the edges (CLI, JSON, logs); internally bytes are Uint8Array. */
import { EvidenceParseError } from './errors.js';

/** Lower-case hex of bytes. @example toHex(new Uint8Array([1, 255])) === '01ff' */
export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

/**
 * Strict hex decoding (optional `0x`, surrounding whitespace ignored); anything else is an error.
 * @example fromHex('0x01ff') // Uint8Array [1, 255]
 */
export function fromHex(text: string, what = 'hex'): Uint8Array {
  let s = text.trim();
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  const out = new Uint8Array(s.length >> 1);
  // Node's hex decoder stops at the first pair that is not two hex digits, so a short write is
  // exactly "not hex": one native pass instead of a regex over the text and then a decode and a
  // copy (the collateral's CRLs are kilobytes of hex, decoded on every cold appraisal).
  const written = s.length % 2 === 0 ? Buffer.from(out.buffer).write(s, 'hex') : -1;
  if (written !== out.length) {
    throw new EvidenceParseError('ERR_HEX_INVALID', 'parse', `${what}: not valid hex (length ${s.length})`);
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number);
  return diff === 0;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function isAllZero(b: Uint8Array): boolean {
  for (const x of b) if (x !== 0) return false;
  return true;
}
