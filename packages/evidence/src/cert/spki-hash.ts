/**
 * `hash-entry` algorithms for the `pubkey-hash` claim: IANA "Named Information Hash Algorithm"
 * registry IDs, of which the CCC spec requires 1 (sha-256), 7 (sha-384) and 8 (sha-512).
 */
import { createHash } from 'node:crypto';
import { EvidenceParseError } from '../errors.js';

export type PubkeyHashAlg = 1 | 7 | 8;

const NODE_NAME: Record<PubkeyHashAlg, string> = { 1: 'sha256', 7: 'sha384', 8: 'sha512' };
const LENGTH: Record<PubkeyHashAlg, number> = { 1: 32, 7: 48, 8: 64 };

export function isPubkeyHashAlg(n: number): n is PubkeyHashAlg {
  return n === 1 || n === 7 || n === 8;
}

/** Digest length in bytes for a supported algorithm. */
export function pubkeyHashLength(alg: PubkeyHashAlg): number {
  return LENGTH[alg];
}

/**
 * Hash of a certificate's SubjectPublicKeyInfo DER with a `hash-entry` algorithm ID.
 * @example spkiHash(spkiDer, 1) // 32-byte SHA-256
 */
export function spkiHash(spkiDer: Uint8Array, alg: PubkeyHashAlg = 1): Uint8Array {
  if (!isPubkeyHashAlg(alg)) {
    throw new EvidenceParseError(
      'ERR_DICE_HASH_ALG_UNSUPPORTED',
      'binding',
      `pubkey-hash: hash algorithm ${String(alg)} is not one of 1, 7, 8`,
    );
  }
  return new Uint8Array(createHash(NODE_NAME[alg]).update(spkiDer).digest());
}
