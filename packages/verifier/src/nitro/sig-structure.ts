import { concatBytes } from '@ratls/evidence';

/** CBOR head (RFC 8949 §3) for a major type and a length up to 2^32-1. */
function head(major: number, len: number): Uint8Array {
  const m = major << 5;
  if (len < 24) return new Uint8Array([m | len]);
  if (len < 0x100) return new Uint8Array([m | 24, len]);
  if (len < 0x10000) return new Uint8Array([m | 25, len >> 8, len & 0xff]);
  return new Uint8Array([m | 26, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff]);
}
const bstr = (b: Uint8Array): Uint8Array => concatBytes(head(2, b.length), b);
const CONTEXT = new TextEncoder().encode('Signature1');

/**
 * The COSE_Sign1 signed bytes, RFC 9052 §4.4: the CBOR array
 * `["Signature1", body_protected, external_aad, payload]` with an empty external_aad.
 * Encoded by hand so the bytes are exactly the definite-length, shortest-form encoding.
 *
 * @example crypto.verify('sha384', coseSign1ToBeSigned(doc.protectedHeader, doc.payload), key, sig)
 */
export function coseSign1ToBeSigned(protectedHeader: Uint8Array, payload: Uint8Array): Uint8Array {
  return concatBytes(head(4, 4), head(3, CONTEXT.length), CONTEXT, bstr(protectedHeader), head(2, 0), bstr(payload));
}
