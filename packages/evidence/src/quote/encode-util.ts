/** Helpers shared by the quote encoders: little-endian writes and exact-length field checks. */
import { EvidenceParseError } from '../errors.js';

export function encodeError(message: string): EvidenceParseError {
  return new EvidenceParseError('ERR_QUOTE_ENCODE', 'encode', message);
}

/** Copies `value` (default zeros) into `out` at `offset`, refusing a wrong length. */
export function putBytes(
  out: Uint8Array,
  offset: number,
  size: number,
  value: Uint8Array | undefined,
  field: string,
): void {
  if (value === undefined) return;
  if (value.length !== size) throw encodeError(`${field}: expected ${size} bytes, got ${value.length}`);
  out.set(value, offset);
}

function checkInt(value: number, max: number, field: string): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw encodeError(`${field}: ${value} is not an integer in 0..${max}`);
  }
}

export function putU16(view: DataView, offset: number, value: number | undefined, field: string): void {
  if (value === undefined) return;
  checkInt(value, 0xffff, field);
  view.setUint16(offset, value, true);
}

export function putU32(view: DataView, offset: number, value: number | undefined, field: string): void {
  if (value === undefined) return;
  checkInt(value, 0xffffffff, field);
  view.setUint32(offset, value, true);
}

export function u16le(value: number, field: string): Uint8Array {
  const out = new Uint8Array(2);
  putU16(new DataView(out.buffer), 0, value, field);
  return out;
}

export function u32le(value: number, field: string): Uint8Array {
  const out = new Uint8Array(4);
  putU32(new DataView(out.buffer), 0, value, field);
  return out;
}
