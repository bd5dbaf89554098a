/**
 * SHA-256, the one digest ratls computes for bindings, cache keys, fingerprints and audit values.
 * One definition, so every package names the same bytes the same way.
 */
import { createHash } from 'node:crypto';

/**
 * SHA-256 of `b` (bytes, or a string taken as UTF-8) as 32 bytes (the binding rules compare these
 * with report data).
 * @example sha256('abc').length === 32
 */
export function sha256(b: Uint8Array | string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(b).digest());
}

/**
 * SHA-256 of `b` (bytes, or a string taken as UTF-8) as lower-case hex: evidence hashes in results,
 * certificate fingerprints, cache keys, policy hashes.
 * @example sha256Hex(new Uint8Array()) === 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
 */
export function sha256Hex(b: Uint8Array | string): string {
  return createHash('sha256').update(b).digest('hex');
}
