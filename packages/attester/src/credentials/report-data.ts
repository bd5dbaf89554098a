/**
 * The 64-byte report data each certificate format asks the TEE to sign.
 *  - DICE (CCC interoperable RA-TLS): SHA-256(claims-buffer) ‖ 32 zero bytes.
 *  - Gramine legacy (Gramine `ra_tls_attest.c`): SHA-256(SPKI DER) ‖ 32 zero bytes.
 */
import { concatBytes, encodeDiceClaims, sha256, spkiHash } from '@ratls/evidence';

const ZERO32 = new Uint8Array(32);

/** The DICE claims buffer `{"pubkey-hash": [1, SHA-256(SPKI)], "nonce"?: bstr}`. */
export function diceClaimsFor(spkiDer: Uint8Array, nonce?: Uint8Array): Uint8Array {
  const pubkeyHash = { alg: 1 as const, hash: spkiHash(spkiDer, 1) };
  return encodeDiceClaims(nonce === undefined ? { pubkeyHash } : { pubkeyHash, nonce });
}

export function diceReportData(claims: Uint8Array): Uint8Array {
  return concatBytes(sha256(claims), ZERO32);
}

export function gramineReportData(spkiDer: Uint8Array): Uint8Array {
  return concatBytes(sha256(spkiDer), ZERO32);
}
