/** Attested TLS for Node: decide on the peer's RA-TLS certificate before any application byte. */

export { Agent, type AttestedAgentOptions } from './agent.js';
export {
  type AttestedClientSocket,
  type AttestedConnectionOptions,
  type ClientAttestationLimits,
  type ClientAttestationOptions,
  connect,
  connectAttested,
} from './client.js';
export { type AttestedDispatcherOptions, createAttestedDispatcher } from './dispatcher.js';
export { AttestationRejectedError, POLICY_REJECTED, TLS_ERRORS } from './errors.js';
export {
  type AttestationMiddlewareOptions,
  type AttestedHttpsServerOptions,
  type AttestedRequest,
  attestationMiddleware,
  createHttpsServer,
} from './https.js';
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
export { type DeclaredSource, type PreTlsReader, type PreTlsVerdict, tlsRecordReader } from './pre-tls.js';
export {
  type AttestationLimits,
  type AttestationOptions,
  type AttestedServerOptions,
  type AttestedSocket,
  attachAttestation,
  attestationOf,
  attestedServerTlsOptions,
  createServer,
  DEFAULT_CLIENT_HELLO_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_HANDSHAKES,
  DEFAULT_MAX_PENDING_PER_SOURCE,
} from './server.js';
export { sourceGroup } from './source-group.js';
export type {
  Attestation,
  PeerAppraiser,
  PeerCertificateInfo,
  PeerContext,
  PeerDecision,
  PeerPolicyDecision,
  PeerRole,
} from './types.js';
