/**
 * The decision for one TLS peer, between the socket adapters (tls/) and appraisal: the peer
 * verifier (verified result, cached → policy → one audit event), the contract the wrappers call
 * (`PeerAppraiser`) and the codes of the rejects it decides itself.
 */

export { recordPreReject, runAppraisal, toAttestation } from './appraise.js';
export {
  AttestationRefusedError,
  AttestationRejectedError,
  normalizeDecision,
  POLICY_REJECTED,
  TLS_ERRORS,
} from './errors.js';
export {
  type AppraiserOptions,
  createPeerVerifier,
  type PeerVerifierOptions,
  resolveAppraiser,
} from './peer-verifier.js';
export {
  createPeerVerifierCore,
  type PeerAuditInput,
  type PeerAuditLog,
  type PeerVerification,
  type PeerVerifier,
  type PeerVerifierCoreOptions,
} from './peer-verifier-core.js';
export type {
  Attestation,
  ChannelAppraisalInput,
  Freshness,
  PeerAppraiser,
  PeerCertificateInfo,
  PeerContext,
  PeerDecision,
  PeerPolicyDecision,
  PeerRole,
} from './types.js';
