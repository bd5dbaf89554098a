/**
 * The gateway's PeerAppraiser for one listener: H7's `createPeerVerifier` (certificate →
 * evidence → binding → appraisal → policy → one audit event) over a quote verifier shared by every
 * listener, so collateral, PCK chains and results are verified once per gateway, not per listener.
 */
import {
  type AuditLog,
  type CollateralSource,
  createPeerVerifier,
  createPeerVerifierCore,
  createQuoteVerifier,
  evaluatePolicy,
  type PeerVerification,
  type PeerVerifier,
  type Policy,
  type QuoteVerifier,
  type SnpAppraisalOptions,
  type TrustAnchor,
  type TrustStore,
  toTrustAnchors,
  trustStore,
  type UnixSeconds,
} from '@ratls/verifier';

/** A stand-in for certificate verification (tests only; named dangerous where it is accepted). */
export type CertificateVerify = (
  der: Uint8Array,
  opts: { at: UnixSeconds; expectedNonce?: Uint8Array },
) => Promise<PeerVerification>;

/** How certificates are verified: the real path, or a test stand-in. */
export type Verification =
  | {
      kind: 'real';
      quoteVerifier: QuoteVerifier;
      collateralSource: CollateralSource;
      /** The configured roots per vendor (built-in production roots where none is configured). */
      trust: TrustStore;
      snp?: SnpAppraisalOptions;
    }
  | { kind: 'dangerous'; verify: CertificateVerify };

/**
 * The real verification path for one gateway configuration: the configured anchors become one
 * trust store, shared by the quote verifier and every listener's peer verifier.
 */
export function realVerification(
  collateralSource: CollateralSource,
  trustAnchors: TrustAnchor[] | undefined,
  other: { snp?: SnpAppraisalOptions; nitroTrustAnchors?: TrustAnchor[] } = {},
): Verification {
  const { trustAnchors: amd, ...snp } = other.snp ?? {};
  const trust = trustStore({
    ...(trustAnchors ? { intel: trustAnchors } : {}),
    ...(amd ? { amd: toTrustAnchors(amd) } : {}),
    ...(other.nitroTrustAnchors ? { aws: other.nitroTrustAnchors } : {}),
  });
  return {
    kind: 'real',
    collateralSource,
    quoteVerifier: createQuoteVerifier({ collateralSource, trustAnchors: trust.intel }),
    trust,
    ...(other.snp ? { snp } : {}),
  };
}

export interface ListenerAppraiserOptions {
  verification: Verification;
  /** Read on every decision so a policy reload applies to the next handshake. */
  policy: () => Policy;
  audit: AuditLog;
  listener: string;
  maxCertificateBytes: number;
  appraisalTimeoutMs: number;
}

/**
 * @example listenerAppraiser({ verification: realVerification(pccs, anchors), policy: () => p, audit, listener: 'api', maxCertificateBytes: 65536, appraisalTimeoutMs: 10000 })
 */
export function listenerAppraiser(o: ListenerAppraiserOptions): PeerVerifier {
  const common = {
    audit: o.audit,
    listener: o.listener,
    maxCertificateBytes: o.maxCertificateBytes,
    appraisalTimeoutMs: o.appraisalTimeoutMs,
  };
  const v = o.verification;
  if (v.kind === 'dangerous') {
    return createPeerVerifierCore({
      verify: v.verify,
      evaluate: (result, ctx) => evaluatePolicy(o.policy(), result, ctx),
      ...common,
    });
  }
  return createPeerVerifier({
    policy: { current: o.policy },
    collateralSource: v.collateralSource,
    quoteVerifier: v.quoteVerifier,
    trust: v.trust,
    ...(v.snp ? { snp: v.snp } : {}),
    ...common,
  });
}
