/**
 * Appraisal of each distinct piece of evidence a certificate carries, by TEE: DCAP quotes with
 * `verifyQuote` (given collateral), a caller's quote verifier, or `createQuoteVerifier` over a
 * collateral source; Nitro documents with `verifyNitroDocument`.
 */
import { ConfigError, type ExtractedEvidence } from '@ratls/evidence';
import type { CollateralSource, DcapCollateral, QuoteCollateralV3Json } from '../collateral/types.js';
import { createQuoteVerifier, type QuoteVerifier } from '../dcap/quote-verifier.js';
import { verifyQuote } from '../dcap/verify-quote.js';
import { verifyNitroDocument } from '../nitro/verify.js';
import type { AttestationResult, DcapResult } from '../result.js';
import { defaultTrustAnchors, type TrustAnchor } from '../trust.js';

export interface QuoteVerifierLike {
  verify(quote: Uint8Array, o: { at: Date | number }): Promise<DcapResult>;
}

export interface EvidenceAppraisalOptions {
  at: Date | number;
  trustAnchors?: TrustAnchor[];
  collateral?: DcapCollateral | QuoteCollateralV3Json | string;
  collateralSource?: CollateralSource;
  quoteVerifier?: QuoteVerifierLike;
  /** Roots for Nitro documents (PEM, DER or TrustAnchor); default the AWS Nitro root G1. */
  nitroTrustAnchors?: (string | Uint8Array | TrustAnchor)[];
  expectedNonce?: Uint8Array;
  /**
   * Use the certificate's DICE endorsements (2.23.133.5.4.2) as collateral when no `collateral`,
   * `collateralSource` or `quoteVerifier` is given. Off by default.
   */
  useCertificateEndorsements?: boolean;
}

/**
 * One cached quote verifier per (collateral source, trust anchors), so repeated certificate checks
 * reuse verified collateral, PCK chains and results; dropped with the source object.
 */
const verifiers = new WeakMap<CollateralSource, Map<string, QuoteVerifier>>();

function verifierFor(source: CollateralSource, anchors: TrustAnchor[] | undefined): QuoteVerifier {
  let bySource = verifiers.get(source);
  if (!bySource) {
    bySource = new Map();
    verifiers.set(source, bySource);
  }
  const key = (anchors ?? defaultTrustAnchors()).map((a) => a.sha256).join(',');
  let v = bySource.get(key);
  if (!v) {
    v = createQuoteVerifier({ collateralSource: source, ...(anchors ? { trustAnchors: anchors } : {}) });
    bySource.set(key, v);
  }
  return v;
}

/** Appraises one piece of evidence; every failure is a RatlsError from the appraiser. */
export async function appraiseEvidence(
  ev: ExtractedEvidence,
  o: EvidenceAppraisalOptions,
  endorsements?: DcapCollateral,
): Promise<AttestationResult> {
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
  if (o.collateralSource) return verifierFor(o.collateralSource, o.trustAnchors).verify(ev.evidence, { at: o.at });
  if (endorsements) {
    return verifyQuote(ev.evidence, endorsements, {
      at: o.at,
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    });
  }
  throw new ConfigError(
    'ERR_COLLATERAL_REQUIRED',
    'config',
    `${ev.format} evidence (${ev.tee}) needs collateral: pass collateral, collateralSource or quoteVerifier (or useCertificateEndorsements with a certificate that carries them)`,
  );
}
