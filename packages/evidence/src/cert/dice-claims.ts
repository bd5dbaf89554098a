/**
 * The DICE `claims-buffer` (CCC "Interoperable RA-TLS X.509 Cert and Evidence Formats", "Evidence
 * Custom Claims"): a definite-length CBOR map with text keys; `"pubkey-hash"` holds a bstr of the
 * CBOR `hash-entry` `[alg, hash]` over the certificate's SPKI DER, `"nonce"` an optional bstr.
 * Other claims are allowed and ignored (rats-tls adds `key_0`, `key_1`).
 */

import { concatBytes } from '../bytes.js';
import { EvidenceParseError, RatlsError } from '../errors.js';
import {
  encodeBstr,
  encodeHead,
  encodeTstr,
  MT_ARRAY,
  MT_MAP,
  MT_UINT,
  readBstr,
  readHead,
  readTstr,
  skipItem,
} from './cbor-lite.js';
import { MAX_CLAIMS_BYTES } from './oids.js';
import { isPubkeyHashAlg, type PubkeyHashAlg, pubkeyHashLength } from './spki-hash.js';

export interface DiceClaims {
  pubkeyHash: { alg: PubkeyHashAlg; hash: Uint8Array };
  nonce?: Uint8Array;
}

export interface DecodedDiceClaims extends DiceClaims {
  /** Names of claims present besides `pubkey-hash` and `nonce` (ignored by binding). */
  otherClaims: string[];
}

const CLAIM_PUBKEY_HASH = 'pubkey-hash';
const CLAIM_NONCE = 'nonce';

/** Encodes a `hash-entry` `[alg, hash]` (CoSWID). */
function encodeHashEntry(alg: PubkeyHashAlg, hash: Uint8Array): Uint8Array {
  return concatBytes(encodeHead(MT_ARRAY, 2), encodeHead(MT_UINT, alg), encodeBstr(hash));
}

/**
 * Serializes claims exactly as Gramine and the CCC spec do: `pubkey-hash` first, then `nonce`.
 * @example encodeDiceClaims({ pubkeyHash: { alg: 1, hash: spkiHash(spki, 1) } })
 */
export function encodeDiceClaims(claims: DiceClaims): Uint8Array {
  const { alg, hash } = claims.pubkeyHash;
  if (!isPubkeyHashAlg(alg)) {
    throw new EvidenceParseError(
      'ERR_DICE_HASH_ALG_UNSUPPORTED',
      'encode',
      `pubkey-hash: algorithm ${String(alg)} is not 1, 7 or 8`,
    );
  }
  if (hash.length !== pubkeyHashLength(alg)) {
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'encode',
      `pubkey-hash: ${hash.length}-byte hash for algorithm ${alg} (expected ${pubkeyHashLength(alg)})`,
    );
  }
  const parts = [
    encodeHead(MT_MAP, claims.nonce ? 2 : 1),
    encodeTstr(CLAIM_PUBKEY_HASH),
    encodeBstr(encodeHashEntry(alg, hash)),
  ];
  if (claims.nonce) parts.push(encodeTstr(CLAIM_NONCE), encodeBstr(claims.nonce));
  const out = concatBytes(...parts);
  if (out.length > MAX_CLAIMS_BYTES) {
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'encode',
      `claims buffer of ${out.length} bytes exceeds ${MAX_CLAIMS_BYTES}`,
    );
  }
  return out;
}

function decodeHashEntry(b: Uint8Array): { alg: PubkeyHashAlg; hash: Uint8Array } {
  const what = 'pubkey-hash hash-entry';
  const arr = readHead(b, 0, what);
  if (arr.major !== MT_ARRAY || arr.arg !== 2)
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      'DICE claims buffer: pubkey-hash is not a 2-element CBOR array [alg, hash]',
    );
  const alg = readHead(b, arr.next, what);
  if (alg.major !== MT_UINT)
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      'DICE claims buffer: pubkey-hash algorithm is not an unsigned integer',
    );
  if (!isPubkeyHashAlg(alg.arg)) {
    throw new EvidenceParseError(
      'ERR_DICE_HASH_ALG_UNSUPPORTED',
      'extract',
      `DICE claims buffer: pubkey-hash algorithm ${alg.arg} is not 1 (sha-256), 7 (sha-384) or 8 (sha-512)`,
    );
  }
  const h = readBstr(b, alg.next, what);
  if (h.next !== b.length)
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      `DICE claims buffer: ${b.length - h.next} bytes after the pubkey-hash hash-entry`,
    );
  if (h.value.length !== pubkeyHashLength(alg.arg)) {
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      `DICE claims buffer: pubkey-hash is ${h.value.length} bytes, algorithm ${alg.arg} needs ${pubkeyHashLength(alg.arg)}`,
    );
  }
  return { alg: alg.arg, hash: h.value };
}

/**
 * Parses a claims buffer strictly: one definite map, text keys, no duplicates, no trailing bytes,
 * `pubkey-hash` required.
 * @example const { pubkeyHash, nonce } = decodeDiceClaims(extracted.claims)
 */
export function decodeDiceClaims(bytes: Uint8Array): DecodedDiceClaims {
  if (bytes.length > MAX_CLAIMS_BYTES)
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      `DICE claims buffer: ${bytes.length} bytes exceeds the ${MAX_CLAIMS_BYTES}-byte bound`,
    );
  try {
    const what = 'DICE claims buffer';
    const map = readHead(bytes, 0, what);
    if (map.major !== MT_MAP)
      throw new EvidenceParseError('ERR_DICE_CLAIMS_INVALID', 'extract', 'DICE claims buffer: not a CBOR map');
    let pos = map.next;
    const seen = new Set<string>();
    let pubkeyHash: DiceClaims['pubkeyHash'] | undefined;
    let nonce: Uint8Array | undefined;
    const otherClaims: string[] = [];
    for (let i = 0; i < map.arg; i++) {
      const key = readTstr(bytes, pos, what);
      if (seen.has(key.value))
        throw new EvidenceParseError(
          'ERR_DICE_CLAIMS_INVALID',
          'extract',
          `DICE claims buffer: duplicate claim "${key.value}"`,
        );
      seen.add(key.value);
      if (key.value === CLAIM_PUBKEY_HASH) {
        const v = readBstr(bytes, key.next, what);
        pubkeyHash = decodeHashEntry(v.value);
        pos = v.next;
      } else if (key.value === CLAIM_NONCE) {
        const v = readBstr(bytes, key.next, what);
        nonce = v.value;
        pos = v.next;
      } else {
        otherClaims.push(key.value);
        pos = skipItem(bytes, key.next, what);
      }
    }
    if (pos !== bytes.length)
      throw new EvidenceParseError(
        'ERR_DICE_CLAIMS_INVALID',
        'extract',
        `DICE claims buffer: ${bytes.length - pos} trailing bytes after the claims map`,
      );
    if (!pubkeyHash)
      throw new EvidenceParseError('ERR_DICE_CLAIMS_INVALID', 'extract', 'DICE claims buffer: no "pubkey-hash" claim');
    return nonce ? { pubkeyHash, nonce, otherClaims } : { pubkeyHash, otherClaims };
  } catch (e) {
    if (e instanceof RatlsError && e.code !== 'ERR_CBOR_INVALID') throw e;
    throw new EvidenceParseError(
      'ERR_DICE_CLAIMS_INVALID',
      'extract',
      `DICE claims buffer: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
}
