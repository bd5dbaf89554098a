/**
 * Recorded claims: an attestation result read back from an audit log (or any other record), NOT a
 * verified result. It has the same shape as `AttestationResult` so that one copy of the policy
 * logic serves the live path and replay, but nothing turns it into a verified result: the TLS
 * wrappers and `evaluatePolicy` still refuse it (`isVerifiedResult` is false), and the decision made
 * from it is a "what would the policy say" answer for reviewing a policy change, never an admission.
 */
import type { AttestationResult } from '../result.js';
import type { ReasonCode } from './types.js';

/**
 * Claims as recorded (unverified). Only `evaluateClaims` (replay) accepts it.
 * @example const claims: RecordedClaims = parseRecordedAttestation(event.trace.attestation)
 */
export type RecordedClaims = AttestationResult;

/**
 * One identity the evaluation tried, in policy order, and what refused it (both empty for the one that decided).
 * @example { identity: 'signer-family', failed: ['isvSvn'], refused: [] }
 */
export interface IdentityCheck {
  identity: string;
  /** Measurement fields that differed, e.g. `['isvSvn']`. */
  failed: string[];
  /** Conditions that refused it after its measurements matched. */
  refused: ReasonCode[];
}
