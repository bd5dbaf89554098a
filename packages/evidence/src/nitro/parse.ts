import { decode, Tag } from 'cbor2';
import { EvidenceParseError } from '../errors.js';
import {
  COSE_ALG_ES384,
  COSE_SIGN1_TAG,
  NITRO_MAX_CABUNDLE,
  NITRO_MAX_CERT,
  NITRO_MAX_DOCUMENT,
  NITRO_MAX_OPTIONAL_FIELD,
  NITRO_MAX_PCRS,
} from './limits.js';
import type { NitroDocument } from './types.js';

const STEP = 'parse';

/** Strict CBOR decoding: maps as Map (integer keys), no global tag decoders, no duplicate keys. */
function cbor(bytes: Uint8Array, what: string): unknown {
  try {
    return decode(bytes, {
      preferMap: true,
      rejectDuplicateKeys: true,
      ignoreGlobalTags: true,
      rejectStreaming: false,
      maxDepth: 8,
    });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new EvidenceParseError('ERR_NITRO_CBOR_INVALID', STEP, `nitro document: ${what} is not valid CBOR (${msg})`, {
      cause: e,
    });
  }
}

function copy(b: Uint8Array): Uint8Array {
  return new Uint8Array(b);
}

function bstr(v: unknown, field: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array))
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: ${field} must be a byte string`,
    );
  if (v.length < min || v.length > max)
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: ${field} has ${v.length} bytes, expected ${min}..${max}`,
    );
  return copy(v);
}

function optionalBstr(m: Map<unknown, unknown>, field: string): Uint8Array | null {
  const v = m.get(field);
  if (v === undefined || v === null) return null;
  return bstr(v, field, 0, NITRO_MAX_OPTIONAL_FIELD);
}

function uint(v: unknown, field: string): number {
  const n = typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= 0n ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: ${field} must be an unsigned integer`,
    );
  return n;
}

function parseProtected(bytes: Uint8Array): -35 {
  if (bytes.length === 0 || bytes.length > 64)
    throw new EvidenceParseError(
      'ERR_NITRO_COSE_INVALID',
      STEP,
      `nitro document: protected header has ${bytes.length} bytes`,
    );
  const h = cbor(bytes, 'protected header');
  if (!(h instanceof Map))
    throw new EvidenceParseError('ERR_NITRO_COSE_INVALID', STEP, 'nitro document: protected header is not a CBOR map');
  const alg = h.get(1);
  if (alg !== COSE_ALG_ES384) {
    throw new EvidenceParseError(
      'ERR_NITRO_ALG_UNSUPPORTED',
      STEP,
      `nitro document: protected header alg is ${String(alg)}, expected -35 (ES384)`,
    );
  }
  return COSE_ALG_ES384;
}

function parsePcrs(v: unknown): Map<number, Uint8Array> {
  if (!(v instanceof Map))
    throw new EvidenceParseError('ERR_NITRO_DOC_INVALID', STEP, 'nitro document payload: pcrs must be a map');
  if (v.size < 1 || v.size > NITRO_MAX_PCRS)
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: pcrs has ${v.size} entries, expected 1..${NITRO_MAX_PCRS}`,
    );
  const out = new Map<number, Uint8Array>();
  for (const [k, val] of v) {
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= NITRO_MAX_PCRS) {
      throw new EvidenceParseError(
        'ERR_NITRO_DOC_INVALID',
        STEP,
        `nitro document payload: pcrs key ${String(k)} is not an index 0..31`,
      );
    }
    if (!(val instanceof Uint8Array) || ![32, 48, 64].includes(val.length)) {
      throw new EvidenceParseError(
        'ERR_NITRO_DOC_INVALID',
        STEP,
        `nitro document payload: pcrs[${k}] must be a byte string of 32, 48 or 64 bytes`,
      );
    }
    out.set(k, copy(val));
  }
  return out;
}

function parsePayload(
  bytes: Uint8Array,
): Omit<NitroDocument, 'protectedHeader' | 'payload' | 'signature' | 'alg' | 'tagged'> {
  const m = cbor(bytes, 'payload');
  if (!(m instanceof Map))
    throw new EvidenceParseError('ERR_NITRO_DOC_INVALID', STEP, 'nitro document payload: payload is not a CBOR map');
  const moduleId = m.get('module_id');
  if (typeof moduleId !== 'string' || moduleId.length === 0 || moduleId.length > 256) {
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      'nitro document payload: module_id must be a non-empty text string',
    );
  }
  const digest = m.get('digest');
  if (digest !== 'SHA384')
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: digest is ${JSON.stringify(digest)}, expected "SHA384"`,
    );
  const timestamp = uint(m.get('timestamp'), 'timestamp');
  if (timestamp === 0)
    throw new EvidenceParseError('ERR_NITRO_DOC_INVALID', STEP, 'nitro document payload: timestamp is zero');
  const pcrs = parsePcrs(m.get('pcrs'));
  const certificate = bstr(m.get('certificate'), 'certificate', 1, NITRO_MAX_CERT);
  const cab = m.get('cabundle');
  if (!Array.isArray(cab) || cab.length < 1 || cab.length > NITRO_MAX_CABUNDLE) {
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_INVALID',
      STEP,
      `nitro document payload: cabundle must be an array of 1..${NITRO_MAX_CABUNDLE} certificates`,
    );
  }
  const cabundle = cab.map((c, i) => bstr(c, `cabundle[${i}]`, 1, NITRO_MAX_CERT));
  return {
    moduleId,
    timestamp,
    digest: 'SHA384',
    pcrs,
    certificate,
    cabundle,
    publicKey: optionalBstr(m, 'public_key'),
    userData: optionalBstr(m, 'user_data'),
    nonce: optionalBstr(m, 'nonce'),
  };
}

/**
 * Parses an AWS Nitro Enclaves attestation document: a COSE_Sign1 (tag 18 or untagged array
 * `[protected bstr, unprotected map, payload bstr, signature bstr]`, RFC 9052 §4.2) whose
 * protected header names ES384 and whose payload is the NSM attestation map. Parsing only; the
 * signature and certificate chain are checked by `verifyNitroDocument` in @ratls/verifier.
 *
 * @example
 * const doc = parseNitroDocument(bytes);
 * console.log(doc.moduleId, toHex(doc.pcrs.get(0)!));
 */
export function parseNitroDocument(bytes: Uint8Array): NitroDocument {
  if (!(bytes instanceof Uint8Array))
    throw new EvidenceParseError('ERR_NITRO_COSE_INVALID', STEP, 'nitro document: input is not bytes');
  if (bytes.length === 0 || bytes.length > NITRO_MAX_DOCUMENT) {
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_SIZE',
      STEP,
      `nitro document: ${bytes.length} bytes, expected 1..${NITRO_MAX_DOCUMENT}`,
    );
  }
  let top = cbor(bytes, 'COSE_Sign1');
  let tagged = false;
  if (top instanceof Tag) {
    if (Number(top.tag) !== COSE_SIGN1_TAG)
      throw new EvidenceParseError(
        'ERR_NITRO_COSE_INVALID',
        STEP,
        `nitro document: unexpected CBOR tag ${String(top.tag)}, expected 18 (COSE_Sign1)`,
      );
    top = top.contents;
    tagged = true;
  }
  if (!Array.isArray(top) || top.length !== 4)
    throw new EvidenceParseError(
      'ERR_NITRO_COSE_INVALID',
      STEP,
      'nitro document: COSE_Sign1 must be an array of 4 elements',
    );
  const [prot, unprot, payload, sig] = top as unknown[];
  if (!(prot instanceof Uint8Array))
    throw new EvidenceParseError(
      'ERR_NITRO_COSE_INVALID',
      STEP,
      'nitro document: protected header must be a byte string',
    );
  if (!(unprot instanceof Map))
    throw new EvidenceParseError('ERR_NITRO_COSE_INVALID', STEP, 'nitro document: unprotected header must be a map');
  if (!(payload instanceof Uint8Array) || payload.length === 0)
    throw new EvidenceParseError(
      'ERR_NITRO_COSE_INVALID',
      STEP,
      'nitro document: payload must be a non-empty byte string',
    );
  if (!(sig instanceof Uint8Array))
    throw new EvidenceParseError('ERR_NITRO_COSE_INVALID', STEP, 'nitro document: signature must be a byte string');
  const alg = parseProtected(prot);
  // ES384 signatures are the fixed-size r‖s concatenation (RFC 9053 §2.1): 2 × 48 bytes.
  if (sig.length !== 96)
    throw new EvidenceParseError(
      'ERR_NITRO_COSE_INVALID',
      STEP,
      `nitro document: ES384 signature has ${sig.length} bytes, expected 96`,
    );
  return {
    protectedHeader: copy(prot),
    payload: copy(payload),
    signature: copy(sig),
    alg,
    tagged,
    ...parsePayload(payload),
  };
}
