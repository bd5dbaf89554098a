/**
 * Builds the gateway's PeerAppraiser for one listener: certificate → evidence → binding → DCAP
 * appraisal (shared, cached quote verifier) → that listener's current policy → one audit event.
 * The composition is H7's `createPeerVerifierCore`; only the certificate step is assembled here
 * from the evidence package until the verifier exports a whole-certificate verifier.
 */
import { X509Certificate } from 'node:crypto';
import { checkCertificateBinding, parseRatlsCertificate, RatlsError } from '@ratls/evidence';
import {
  type AuditLog,
  type CollateralSource,
  createPeerVerifierCore,
  createQuoteVerifier,
  evaluatePolicy,
  type PeerVerification,
  type PeerVerifier,
  type Policy,
  type QuoteVerifier,
  type TrustAnchor,
} from '@ratls/verifier';

/** Verifies an RA-TLS certificate's evidence (SGX/TDX quotes) at `at`. */
export type CertificateVerify = (
  der: Uint8Array,
  opts: { at: Date; expectedNonce?: Uint8Array },
) => Promise<PeerVerification>;

/**
 * @example const verify = dcapCertificateVerifier(createQuoteVerifier({ collateralSource, trustAnchors }))
 */
export function dcapCertificateVerifier(quotes: QuoteVerifier): CertificateVerify {
  return async (der, opts) => {
    const parts = parseRatlsCertificate(der);
    const outcomes = checkCertificateBinding(parts, opts.expectedNonce ? { expectedNonce: opts.expectedNonce } : {});
    const ev = parts.evidence.find((e) => e.tee === 'sgx' || e.tee === 'tdx');
    if (!ev) {
      throw new RatlsError(
        'ERR_GATEWAY_TEE_UNSUPPORTED',
        'appraise',
        `no SGX/TDX quote in the certificate (formats: ${parts.evidence.map((e) => e.format).join(', ') || 'none'})`,
      );
    }
    const result = await quotes.verify(ev.evidence, { at: opts.at });
    const x = new X509Certificate(Buffer.from(der));
    return {
      result,
      certificate: {
        fingerprintSha256: x.fingerprint256.replace(/:/g, '').toLowerCase(),
        notBefore: Math.floor(Date.parse(x.validFrom) / 1000),
        notAfter: Math.floor(Date.parse(x.validTo) / 1000),
        subject: x.subject.replace(/\n/g, ', '),
        formats: outcomes.map((o) => o.format),
      },
      binding: { formats: outcomes.map((o) => o.format) },
    };
  };
}

export interface ListenerAppraiserOptions {
  verify: CertificateVerify;
  policy: () => Policy;
  audit: AuditLog;
  listener: string;
  maxCertificateBytes: number;
  appraisalTimeoutMs: number;
}

/** One listener's appraiser; the policy is read on every decision so a reload applies at once. */
export function listenerAppraiser(o: ListenerAppraiserOptions): PeerVerifier {
  return createPeerVerifierCore({
    verify: o.verify,
    evaluate: (result, ctx) => evaluatePolicy(o.policy(), result, ctx),
    // The TLS core passes decision times as Unix ms; the audit log wants a Date.
    audit: {
      record: (input) => o.audit.record({ ...input, at: input.at !== undefined ? new Date(input.at) : undefined }),
    },
    listener: o.listener,
    maxCertificateBytes: o.maxCertificateBytes,
    appraisalTimeoutMs: o.appraisalTimeoutMs,
  });
}

/** Shared DCAP verification for every listener (one cache of collateral, chains, results). */
export function sharedQuoteVerifier(
  collateralSource: CollateralSource,
  trustAnchors: TrustAnchor[] | undefined,
): QuoteVerifier {
  return createQuoteVerifier({ collateralSource, ...(trustAnchors ? { trustAnchors } : {}) });
}
