/**
 * The small strict subset of CBOR (RFC 8949 §3) that RA-TLS evidence uses: definite lengths only,
 * every read bounds-checked, nesting bounded. Writing is shortest-form heads (§4.2.1).
 */
import { EvidenceParseError } from '../errors.js';

export const MT_UINT = 0;
export const MT_NINT = 1;
export const MT_BSTR = 2;
export const MT_TSTR = 3;
export const MT_ARRAY = 4;
export const MT_MAP = 5;
export const MT_TAG = 6;
export const MT_SIMPLE = 7;

export interface CborHead {
  major: number;
  /** Argument value (length, count, integer or tag number); at most 2^53 - 1. */
  arg: number;
  /** Offset just after the head. */
  next: number;
}

const MAX_DEPTH = 16;

/** Reads one head at `pos`; indefinite lengths and reserved values are refused. */
export function readHead(buf: Uint8Array, pos: number, what: string): CborHead {
  if (pos >= buf.length)
    throw new EvidenceParseError('ERR_CBOR_INVALID', 'extract', `${what}: truncated at offset ${pos}`);
  const ib = buf[pos] as number;
  const major = ib >> 5;
  const ai = ib & 0x1f;
  if (ai < 24) return { major, arg: ai, next: pos + 1 };
  if (ai > 27)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: indefinite or reserved length (0x${ib.toString(16)}) at offset ${pos}`,
    );
  const n = 1 << (ai - 24);
  if (pos + 1 + n > buf.length)
    throw new EvidenceParseError('ERR_CBOR_INVALID', 'extract', `${what}: truncated head at offset ${pos}`);
  let arg = 0;
  for (let i = 0; i < n; i++) arg = arg * 256 + (buf[pos + 1 + i] as number);
  if (!Number.isSafeInteger(arg))
    throw new EvidenceParseError('ERR_CBOR_INVALID', 'extract', `${what}: argument too large at offset ${pos}`);
  return { major, arg, next: pos + 1 + n };
}

/** Reads a byte string at `pos` and returns a view of its content. */
export function readBstr(buf: Uint8Array, pos: number, what: string): { value: Uint8Array; next: number } {
  const h = readHead(buf, pos, what);
  if (h.major !== MT_BSTR)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: expected a byte string at offset ${pos}, found major type ${h.major}`,
    );
  if (h.arg > buf.length - h.next)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: byte string of ${h.arg} bytes overruns the input at offset ${pos}`,
    );
  return { value: buf.subarray(h.next, h.next + h.arg), next: h.next + h.arg };
}

/** Reads a UTF-8 text string at `pos`. */
export function readTstr(buf: Uint8Array, pos: number, what: string): { value: string; next: number } {
  const h = readHead(buf, pos, what);
  if (h.major !== MT_TSTR)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: expected a text string at offset ${pos}, found major type ${h.major}`,
    );
  if (h.arg > buf.length - h.next)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: text string of ${h.arg} bytes overruns the input at offset ${pos}`,
    );
  let value: string;
  try {
    value = new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(h.next, h.next + h.arg));
  } catch {
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: text string at offset ${pos} is not valid UTF-8`,
    );
  }
  return { value, next: h.next + h.arg };
}

/** Skips one complete data item at `pos` (any type), returning the offset after it. */
export function skipItem(buf: Uint8Array, pos: number, what: string, depth = 0): number {
  if (depth > MAX_DEPTH)
    throw new EvidenceParseError(
      'ERR_CBOR_INVALID',
      'extract',
      `${what}: nesting deeper than ${MAX_DEPTH} at offset ${pos}`,
    );
  const h = readHead(buf, pos, what);
  switch (h.major) {
    case MT_UINT:
    case MT_NINT:
    case MT_SIMPLE:
      return h.next;
    case MT_BSTR:
    case MT_TSTR:
      if (h.arg > buf.length - h.next)
        throw new EvidenceParseError(
          'ERR_CBOR_INVALID',
          'extract',
          `${what}: string overruns the input at offset ${pos}`,
        );
      return h.next + h.arg;
    case MT_ARRAY:
    case MT_MAP: {
      const items = h.major === MT_MAP ? h.arg * 2 : h.arg;
      // Each item takes at least one byte: refuse counts the input cannot hold before looping.
      if (items > buf.length - h.next)
        throw new EvidenceParseError(
          'ERR_CBOR_INVALID',
          'extract',
          `${what}: container of ${items} items overruns the input at offset ${pos}`,
        );
      let p = h.next;
      for (let i = 0; i < items; i++) p = skipItem(buf, p, what, depth + 1);
      return p;
    }
    default:
      return skipItem(buf, h.next, what, depth + 1); // tag: one item follows
  }
}

/** Encodes a shortest-form head. */
export function encodeHead(major: number, arg: number): Uint8Array {
  if (!Number.isSafeInteger(arg) || arg < 0) throw new RangeError(`CBOR argument out of range: ${arg}`);
  const mt = major << 5;
  if (arg < 24) return Uint8Array.of(mt | arg);
  if (arg < 0x100) return Uint8Array.of(mt | 24, arg);
  if (arg < 0x10000) return Uint8Array.of(mt | 25, arg >> 8, arg & 0xff);
  if (arg < 0x100000000) return Uint8Array.of(mt | 26, arg >>> 24, (arg >>> 16) & 0xff, (arg >>> 8) & 0xff, arg & 0xff);
  const hi = Math.floor(arg / 0x100000000);
  const lo = arg >>> 0;
  return Uint8Array.of(
    mt | 27,
    hi >>> 24,
    (hi >>> 16) & 0xff,
    (hi >>> 8) & 0xff,
    hi & 0xff,
    lo >>> 24,
    (lo >>> 16) & 0xff,
    (lo >>> 8) & 0xff,
    lo & 0xff,
  );
}

export function encodeBstr(b: Uint8Array): Uint8Array {
  const h = encodeHead(MT_BSTR, b.length);
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  return out;
}

export function encodeTstr(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const h = encodeHead(MT_TSTR, b.length);
  const out = new Uint8Array(h.length + b.length);
  out.set(h);
  out.set(b, h.length);
  return out;
}
