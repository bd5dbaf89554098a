/**
 * Appraisal of each distinct piece of evidence a certificate carries, by TEE: DCAP quotes with
 * `verifyQuote` (given collateral), a caller's quote verifier, or a collateral source; Nitro
 * documents with `verifyNitroDocument`.
 */
import { ConfigError, type ExtractedEvidence, parseQuote } from '@ratls/evidence';
import type { CollateralSource, DcapCollateral, QuoteCollateralV3Json } from '../collateral/types.js';
import { pckChainPemOf, verifyPckChain } from '../dcap/pck-chain.js';
import { fmspcHex } from '../dcap/pck-extensions.js';
import { toUnixSeconds, verifyQuote } from '../dcap/verify-quote.js';
import { verifyNitroDocument } from '../nitro/verify.js';
import type { AttestationResult, DcapResult } from '../result.js';
import { defaultTrustAnchors, type TrustAnchor } from '../trust.js';

export interface QuoteVerifierLike {
  verify(quote: Uint8Array, o: { at: Date | number }): Promise<DcapResult>;
}

export interface AppraiseOptions {
  at: Date | number;
  trustAnchors?: TrustAnchor[];
  collateral?: DcapCollateral | QuoteCollateralV3Json | string;
  collateralSource?: CollateralSource;
  quoteVerifier?: QuoteVerifierLike;
  /** Roots for Nitro documents (PEM, DER or TrustAnchor); default the AWS Nitro root G1. */
  nitroTrustAnchors?: (string | Uint8Array | TrustAnchor)[];
  expectedNonce?: Uint8Array;
}

/**
 * Collateral from a source for this quote: the PCK chain (verified against the anchors at `at`)
 * names the FMSPC and the issuing PCK CA, which select the collateral (Intel PCS API v4).
 */
async function viaSource(quote: Uint8Array, source: CollateralSource, o: AppraiseOptions): Promise<DcapResult> {
  const anchors = o.trustAnchors ?? defaultTrustAnchors();
  const at = toUnixSeconds(o.at);
  const q = parseQuote(quote);
  const pck = verifyPckChain(pckChainPemOf(q), anchors, at);
  const collateral = await source.getCollateral({ tee: q.tee, fmspc: fmspcHex(pck.ext), pckCa: pck.pckCa });
  return verifyQuote(quote, collateral, { at: o.at, ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}) });
}

/** Appraises one piece of evidence; every failure is a RatlsError from the appraiser. */
export async function appraiseEvidence(ev: ExtractedEvidence, o: AppraiseOptions): Promise<AttestationResult> {
  if (ev.tee === 'nitro') {
    return verifyNitroDocument(ev.evidence, {
      at: o.at,
      ...(o.nitroTrustAnchors ? { trustAnchors: o.nitroTrustAnchors } : {}),
      ...(o.expectedNonce ? { expectedNonce: o.expectedNonce } : {}),
    });
  }
  if (o.quoteVerifier) return o.quoteVerifier.verify(ev.evidence, { at: o.at });
  if (o.collateral !== undefined) {
    return verifyQuote(ev.evidence, o.collateral, {
      at: o.at,
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    });
  }
  if (o.collateralSource) return viaSource(ev.evidence, o.collateralSource, o);
  throw new ConfigError(
    'ERR_COLLATERAL_REQUIRED',
    'config',
    `${ev.format} evidence (${ev.tee}) needs collateral: pass collateral, collateralSource or quoteVerifier`,
  );
}
