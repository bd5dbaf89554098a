/**
 * The proof registry for the two inputs of quote appraisal. `verifyPckChain` and
 * `verifyCollateral` register what they verified; `appraise` refuses anything else, so a caller
 * who builds a `VerifiedPck` or `VerifiedCollateral` by hand (an attacker's TCB info, a PCK key
 * of their choosing) gets ERR_UNVERIFIED_INPUT, never a result (rustls' assertion constructors).
 */
import { AppraisalError } from '@ratls/evidence';
import { deepFreeze } from '../freeze.js';
import type { VerifiedPck } from './pck-chain.js';
import type { VerifiedCollateral } from './verify-collateral.js';

const pcks = new WeakSet<object>();
const collaterals = new WeakSet<object>();

/**
 * Internal to `verifyPckChain`: freezes and registers a chain it has just verified.
 * @example return registerVerifiedPck({ chain, leaf, leafKey, ca, caKey, ext, pckCa })
 */
export function registerVerifiedPck(p: VerifiedPck): VerifiedPck {
  // The PCK CA is frozen (and marked done) on its own first: the verified collateral names the
  // same certificate as its PCK CRL issuer, so its freeze walk then stops there.
  deepFreeze(p.ca, false);
  pcks.add(deepFreeze(p, false));
  return p;
}

/**
 * Internal to `verifyCollateral`: freezes and registers collateral it has just verified.
 * @example return registerVerifiedCollateral({ tcbInfo, qeIdentity, anchor, ... })
 */
export function registerVerifiedCollateral(c: VerifiedCollateral): VerifiedCollateral {
  collaterals.add(deepFreeze(c, false));
  return c;
}

/**
 * Throws ERR_UNVERIFIED_INPUT unless both inputs came out of this process's verifiers.
 * @example assertVerifiedInputs(pck, vc) // first line of appraise
 */
export function assertVerifiedInputs(pck: unknown, vc: unknown): void {
  if (typeof pck !== 'object' || pck === null || !pcks.has(pck)) {
    throw new AppraisalError(
      'ERR_UNVERIFIED_INPUT',
      'appraise',
      'appraise: the PCK chain was not produced by verifyPckChain in this process',
    );
  }
  if (typeof vc !== 'object' || vc === null || !collaterals.has(vc)) {
    throw new AppraisalError(
      'ERR_UNVERIFIED_INPUT',
      'appraise',
      'appraise: the collateral was not produced by verifyCollateral in this process',
    );
  }
}
