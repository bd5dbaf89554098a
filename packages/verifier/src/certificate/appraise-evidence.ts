/**
 * Appraisal of each distinct piece of evidence a certificate carries, by TEE: DCAP quotes with
 * `verifyQuote` (given collateral), a caller's quote verifier, or `createQuoteVerifier` over a
 * collateral source; SEV-SNP reports with `verifySnpReport`; Nitro documents with
 * `verifyNitroDocument`.
 */
import { ConfigError, type EvidenceParses, type ExtractedEvidence } from '@ratls/evidence';
import type { CollateralSource, DcapCollateral, QuoteCollateralV3Json } from '../collateral/types.js';
import { createQuoteVerifier, parsedQuoteEntry } from '../dcap/quote-verifier.js';
import { verifyParsedQuote, verifyQuote } from '../dcap/verify-quote.js';
import { verifyNitroDocument } from '../nitro/verify.js';
import type { AttestationResult, DcapResult } from '../result.js';
import type { SnpCollateralSource } from '../snp/collateral.js';
import { type VerifySnpOptions, verifySnpReport } from '../snp/verify.js';
import type { TrustAnchor, TrustAnchorInput } from '../trust.js';
import { resolveTrustStore, type TrustStoreInput } from '../trust-store.js';

export interface QuoteVerifierLike {
  verify(quote: Uint8Array, o: { at: Date | number }): Promise<DcapResult>;
}

export interface EvidenceAppraisalOptions {
  at: Date | number;
  /**
   * The roots per vendor (Intel, AMD, AWS); a vendor left out gets its built-in production roots.
   * The per-vendor options below are the older names; `trust` wins where both are given.
   */
  trust?: TrustStoreInput;
  /** Intel roots (older name of `trust.intel`). */
  trustAnchors?: TrustAnchor[];
  collateral?: DcapCollateral | QuoteCollateralV3Json | string;
  collateralSource?: CollateralSource;
  quoteVerifier?: QuoteVerifierLike;
  /** Roots for Nitro documents (older name of `trust.aws`); default the AWS Nitro root G1. */
  nitroTrustAnchors?: TrustAnchorInput[];
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
  /** Accepted ARKs (older name of `trust.amd`); default the built-in AMD ARKs. */
  trustAnchors?: TrustAnchorInput[];
  /** AMD CRL (DER), see `verifySnpReport`. */
  crl?: Uint8Array;
}

/**
 * The options for one certificate's appraisal: the trust store resolved once (`trust` complete,
 * PEM converted), and, with a collateral source and no quote verifier, one quote verifier made for
 * this call so the certificate's quotes share verified collateral. There is no module-level cache:
 * reuse across calls is the caller's own `quoteVerifier` (the peer verifier and the gateway each
 * own one).
 * @example
 * const o = prepareAppraisal({ at, collateralSource: pccs });
 * for (const ev of evidence) await appraiseEvidence(ev, o);
 */
export function prepareAppraisal<T extends EvidenceAppraisalOptions>(given: T): T {
  const trust = resolveTrustStore(given);
  const o: T = { ...given, trust };
  if (!o.collateralSource || o.quoteVerifier || o.collateral !== undefined) return o;
  return {
    ...o,
    quoteVerifier: createQuoteVerifier({ collateralSource: o.collateralSource, trustAnchors: trust.intel }),
  };
}

/**
 * What the certificate step already knows about one piece of evidence: its parsed quote (from the
 * binding check) and its SHA-256, handed on so the DCAP appraisal neither parses nor hashes again.
 */
export interface KnownEvidence {
  parses: EvidenceParses;
  evidenceSha256: string;
}

/** Appraises one piece of evidence; every failure is a RatlsError from the appraiser. */
export async function appraiseEvidence(
  ev: ExtractedEvidence,
  o: EvidenceAppraisalOptions,
  endorsements?: DcapCollateral,
  snpCertTable?: Uint8Array,
  known?: KnownEvidence,
): Promise<AttestationResult> {
  const trust = resolveTrustStore(o);
  if (ev.tee === 'nitro') {
    // DICE-wrapped documents carry the nonce in the claims (checked by the binding step); only the
    // Evervault SAN form puts it in the document itself.
    const nonce = ev.format === 'nitro-san' ? o.expectedNonce : undefined;
    return verifyNitroDocument(ev.evidence, {
      at: o.at,
      trustAnchors: trust.aws,
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
      trustAnchors: trust.amd,
      ...(s.crl ? { crl: s.crl } : {}),
      ...(snpCertTable ? { aux: snpCertTable } : {}),
    });
  }
  if (o.quoteVerifier) {
    // Only a verifier createQuoteVerifier made takes the parsed quote; any other gets the bytes.
    const entry = known ? parsedQuoteEntry(o.quoteVerifier) : undefined;
    if (entry && known) return entry(known.parses.quote(ev), ev.evidence, known.evidenceSha256, { at: o.at });
    return o.quoteVerifier.verify(ev.evidence, { at: o.at });
  }
  if (o.collateral !== undefined) {
    const vo = { at: o.at, trustAnchors: trust.intel };
    if (known) return verifyParsedQuote(known.parses.quote(ev), ev.evidence, known.evidenceSha256, o.collateral, vo);
    return verifyQuote(ev.evidence, o.collateral, vo);
  }
  if (o.collateralSource) {
    // A one-shot verifier: callers that appraise more than once pass their own (withQuoteVerifier).
    const v = createQuoteVerifier({
      collateralSource: o.collateralSource,
      trustAnchors: trust.intel,
    });
    return v.verify(ev.evidence, { at: o.at });
  }
  if (endorsements) {
    return verifyQuote(ev.evidence, endorsements, {
      at: o.at,
      trustAnchors: trust.intel,
    });
  }
  throw new ConfigError(
    'ERR_COLLATERAL_REQUIRED',
    'config',
    `${ev.format} evidence (${ev.tee}) needs collateral: pass collateral, collateralSource or quoteVerifier (or useCertificateEndorsements with a certificate that carries them)`,
  );
}
