/**
 * Forged attestation results, for tests only.
 *
 * This is the only back door to the verifier's result registry: it imports the verifier's
 * *source* file `result.ts` by relative path, a module that the package's `exports` map does not
 * expose (only "." is exported, and the root index leaves `markVerified` out). `dist/` never
 * contains test code, and this package is private (never published), so no installed copy of
 * @ratls/verifier offers a way to turn caller-built data into a verified result.
 */
import type { AttestationResult } from '@ratls/verifier';
import { markVerified } from '../packages/verifier/src/result.js';

/**
 * Registers `r` as verified (and deep-freezes it) as if an appraiser had produced it.
 * @example const r = forgeVerifiedResult<SgxResult>({ tee: 'sgx', ... })
 */
export function forgeVerifiedResult<T extends AttestationResult>(r: T): T {
  return markVerified(r);
}
