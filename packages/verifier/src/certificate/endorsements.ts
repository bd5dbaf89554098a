/**
 * Collateral carried in the certificate (DICE endorsements, 2.23.133.5.4.2) as `DcapCollateral`.
 * It comes from the peer, so it is trusted no more than any collateral: the appraiser verifies
 * its signatures to the configured anchors and its validity at `at`.
 */
import type { DiceEndorsements } from '@ratls/evidence';
import { collateralFromPcsResponses } from '../collateral/from-pcs.js';
import type { DcapCollateral } from '../collateral/types.js';

const text = (b: Uint8Array): string => new TextDecoder('utf-8', { fatal: false }).decode(b);

/**
 * @example const collateral = collateralFromEndorsements(decodeDiceEndorsements(parts.endorsements))
 */
export function collateralFromEndorsements(e: DiceEndorsements): DcapCollateral {
  return collateralFromPcsResponses({
    tcbInfoBody: text(e.tcbInfo),
    tcbInfoIssuerChain: text(e.tcbInfoIssuerChain),
    qeIdentityBody: text(e.qeIdentity),
    qeIdentityIssuerChain: text(e.qeIdentityIssuerChain),
    pckCrl: e.pckCrl,
    pckCrlIssuerChain: text(e.pckCrlIssuerChain),
    rootCaCrl: e.rootCaCrl,
  });
}
