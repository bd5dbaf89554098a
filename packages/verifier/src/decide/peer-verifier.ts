/**
 * The real composition: `verifyCertificate` (X.509, binding, DCAP/SNP/Nitro appraisal) →
 * `evaluatePolicy` against the policy in force → one audit event.
 */
import type { ExtractedEvidence } from '@ratls/evidence';
import type { AuditLog } from '../audit/log.js';
import { appraiseEvidence, prepareAppraisal } from '../certificate/appraise-evidence.js';
import { type VerifyCertificateOptions, verifyCertificate } from '../certificate/verify-certificate.js';
import { createQuoteVerifier } from '../dcap/quote-verifier.js';
import { evaluatePolicy } from '../policy/evaluate.js';
import type { PolicyStore } from '../policy/store.js';
import type { Policy } from '../policy/types.js';
import { resolveTrustStore } from '../trust-store.js';
import { createPeerVerifierCore, type PeerVerifier } from './peer-verifier-core.js';
import type { PeerAppraiser } from './types.js';

export interface PeerVerifierOptions extends Omit<VerifyCertificateOptions, 'at' | 'expectedNonce' | 'peerPublicKey'> {
  /** A fixed policy, or a store whose `current()` is read on every connection (reloads apply at once). */
  policy: Policy | Pick<PolicyStore, 'current'>;
  audit?: AuditLog;
  /** Bound of the verified-result cache and, with `collateralSource`, of the quote verifier's caches. */
  cache?: { maxEntries?: number };
  /** Unix milliseconds; the wrappers use it for the decision time (default Date.now). */
  clock?: () => number;
  /** Listener name recorded in audit events. */
  listener?: string;
  appraisalTimeoutMs?: number;
  maxCertificateBytes?: number;
}

function currentPolicy(p: PeerVerifierOptions['policy']): Policy {
  return 'current' in p && typeof p.current === 'function' ? p.current() : (p as Policy);
}

/**
 * A PeerAppraiser for RA-TLS certificates: verified results cached by certificate fingerprint
 * (until the earlier of the certificate's notAfter and the collateral window's end), policy
 * evaluated on every connection, exactly one audit event per decision, never throws.
 * @example
 * const verifier = createPeerVerifier({ policy: store, collateralSource: pccs, trust: trustStore(), audit: createAuditLog({ sink: 'stdout' }) });
 * const server = createServer({ key, cert, attestation: { verifier } }, (s) => s.end('hi'));
 */
export function createPeerVerifier(opts: PeerVerifierOptions): PeerVerifier {
  const {
    policy,
    audit,
    cache,
    clock: _clock,
    listener,
    appraisalTimeoutMs,
    maxCertificateBytes,
    ...verifyOptions
  } = opts;
  // With only a collateral source, share one quote verifier so collateral, PCK chains and QE
  // reports are verified once per platform rather than once per certificate.
  // The trust store is resolved once per verifier (PEM anchors parsed here, not per connection).
  const trust = resolveTrustStore(verifyOptions);
  verifyOptions.trust = trust;
  if (verifyOptions.collateralSource && !verifyOptions.quoteVerifier && verifyOptions.collateral === undefined) {
    verifyOptions.quoteVerifier = createQuoteVerifier({
      collateralSource: verifyOptions.collateralSource,
      trustAnchors: trust.intel,
      ...(cache ? { cache } : {}),
    });
  }
  return createPeerVerifierCore({
    verify: (der, o) => verifyCertificate(der, { ...verifyOptions, ...o }),
    evaluate: (result, ctx) => evaluatePolicy(currentPolicy(policy), result, ctx),
    freshness: (d) => {
      if (!d.accept) return 'certificate';
      const id = currentPolicy(policy).identities.find((i) => i.name === d.identity);
      return id?.effective.freshness ?? 'certificate';
    },
    // Fresh evidence goes through the very appraisal a certificate's evidence does (same trust,
    // collateral and quote verifier); only the wrapper differs, so the format is the TEE's own.
    appraiseFresh: (answer, at) => {
      const ev: ExtractedEvidence = {
        format: answer.tee === 'nitro' ? 'nitro-san' : 'tcg-dice',
        tee: answer.tee,
        oid: null,
        evidence: answer.evidence,
        raw: new Uint8Array(0),
      };
      const o = prepareAppraisal({ ...verifyOptions, at });
      return appraiseEvidence(ev, o, undefined, answer.tee === 'sev-snp' ? answer.aux : undefined);
    },
    ...(audit ? { audit } : {}),
    ...(cache ? { cache } : {}),
    ...(listener ? { listener } : {}),
    ...(appraisalTimeoutMs !== undefined ? { appraisalTimeoutMs } : {}),
    ...(maxCertificateBytes !== undefined ? { maxCertificateBytes } : {}),
  });
}

/** A ready appraiser, or the options to build one. */
export type AppraiserOptions = { verifier: PeerAppraiser } | PeerVerifierOptions;

/** The appraiser the options name, building one from verifier options when needed. */
export function resolveAppraiser(opts: AppraiserOptions): PeerAppraiser {
  return 'verifier' in opts && opts.verifier ? opts.verifier : createPeerVerifier(opts as PeerVerifierOptions);
}
