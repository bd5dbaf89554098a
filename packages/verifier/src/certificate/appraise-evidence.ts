/**
 * Appraisal of each distinct piece of evidence a certificate carries, by TEE: DCAP quotes with
 * `verifyQuote` (given collateral), a caller's quote verifier, or `createQuoteVerifier` over a
 * collateral source; SEV-SNP reports with `verifySnpReport`; Nitro documents with
 * `verifyNitroDocument`.
 */
import { ConfigError, type ExtractedEvidence } from '@ratls/evidence';
import type { CollateralSource, DcapCollateral, QuoteCollateralV3Json } from '../collateral/types.js';
import { createQuoteVerifier } from '../dcap/quote-verifier.js';
import { verifyQuote } from '../dcap/verify-quote.js';
import { verifyNitroDocument } from '../nitro/verify.js';
import type { AttestationResult, DcapResult } from '../result.js';
import type { SnpCollateralSource } from '../snp/collateral.js';
import { type VerifySnpOptions, verifySnpReport } from '../snp/verify.js';
import type { TrustAnchor } from '../trust.js';

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
   * SEV-SNP appraisal. The VCEK and chain come from here first, then from the SNP certificate table
   * the certificate carries in its DICE endorsements extension, then from `kds`, then (chain only)
   * the built-in AMD chain for `product`. The ARK must be one of `trustAnchors` (default: the
   * built-in AMD ARKs), wherever the certificates came from.
   */
  snp?: SnpAppraisalOptions;
  /**
   * Use the certificate's DICE endorsements (2.23.133.5.4.2) as collateral when no `collateral`,
   * `collateralSource` or `quoteVerifier` is given. Off by default.
   */
  useCertificateEndorsements?: boolean;
}

export interface SnpAppraisalOptions {
  /** VCEK or VLEK, DER or PEM. */
  vcek?: Uint8Array | string;
  /** KDS `cert_chain` PEM: ASK (or ASVK) then ARK. */
  chain?: string;
  kds?: SnpCollateralSource;
  product?: VerifySnpOptions['product'];
  /** Accepted ARKs (PEM, DER or TrustAnchor); default the built-in AMD ARKs. */
  trustAnchors?: (string | Uint8Array | TrustAnchor)[];
  /** AMD CRL (DER), see `verifySnpReport`. */
  crl?: Uint8Array;
}

/**
 * The options for one certificate's appraisal: with a collateral source and no quote verifier, one
 * quote verifier is made for this call, so the certificate's quotes share verified collateral.
 * There is no module-level cache: reuse across calls is the caller's own `quoteVerifier` (the peer
 * verifier and the gateway each own one).
 * @example
 * const o = withQuoteVerifier({ at, collateralSource: pccs });
 * for (const ev of evidence) await appraiseEvidence(ev, o);
 */
export function withQuoteVerifier<T extends EvidenceAppraisalOptions>(o: T): T {
  if (!o.collateralSource || o.quoteVerifier || o.collateral !== undefined) return o;
  return {
    ...o,
    quoteVerifier: createQuoteVerifier({
      collateralSource: o.collateralSource,
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    }),
  };
}

/** Appraises one piece of evidence; every failure is a RatlsError from the appraiser. */
export async function appraiseEvidence(
  ev: ExtractedEvidence,
  o: EvidenceAppraisalOptions,
  endorsements?: DcapCollateral,
  snpCertTable?: Uint8Array,
): Promise<AttestationResult> {
  if (ev.tee === 'nitro') {
    // DICE-wrapped documents carry the nonce in the claims (checked by the binding step); only the
    // Evervault SAN form puts it in the document itself.
    const nonce = ev.format === 'nitro-san' ? o.expectedNonce : undefined;
    return verifyNitroDocument(ev.evidence, {
      at: o.at,
      ...(o.nitroTrustAnchors ? { trustAnchors: o.nitroTrustAnchors } : {}),
      ...(nonce ? { expectedNonce: nonce } : {}),
    });
  }
  if (ev.tee === 'sev-snp') {
    const s = o.snp ?? {};
    return verifySnpReport(ev.evidence, {
      at: o.at,
      ...(s.vcek !== undefined ? { vcek: s.vcek } : {}),
      ...(s.chain !== undefined ? { chain: s.chain } : {}),
      ...(s.kds ? { kds: s.kds } : {}),
      ...(s.product ? { product: s.product } : {}),
      ...(s.trustAnchors ? { trustAnchors: s.trustAnchors } : {}),
      ...(s.crl ? { crl: s.crl } : {}),
      ...(snpCertTable ? { aux: snpCertTable } : {}),
    });
  }
  if (o.quoteVerifier) return o.quoteVerifier.verify(ev.evidence, { at: o.at });
  if (o.collateral !== undefined) {
    return verifyQuote(ev.evidence, o.collateral, {
      at: o.at,
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    });
  }
  if (o.collateralSource) {
    // A one-shot verifier: callers that appraise more than once pass their own (withQuoteVerifier).
    const v = createQuoteVerifier({
      collateralSource: o.collateralSource,
      ...(o.trustAnchors ? { trustAnchors: o.trustAnchors } : {}),
    });
    return v.verify(ev.evidence, { at: o.at });
  }
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
