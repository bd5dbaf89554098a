/**
 * Attested TLS for Node, the socket adapters: server, client, HTTPS, agent, undici dispatcher and
 * the pre-TLS acceptor. Each asks decide/ about the peer's RA-TLS certificate before any
 * application byte.
 */

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
export {
  type AttestationMiddlewareOptions,
  type AttestedHttpsServerOptions,
  type AttestedRequest,
  attestationMiddleware,
  createHttpsServer,
} from './https.js';
export {
  type DeclaredSource,
  type PreTlsPeer,
  type PreTlsReader,
  type PreTlsVerdict,
  tlsRecordReader,
} from './pre-tls.js';
export {
  type AttestationLimits,
  type AttestationOptions,
  type AttestedServerOptions,
  type AttestedSocket,
  attachAttestation,
  attestationOf,
  attestedServerTlsOptions,
  channelRefusalResponse,
  clientAddressOf,
  createServer,
  DEFAULT_CLIENT_HELLO_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_HANDSHAKES,
  DEFAULT_MAX_PENDING_PER_SOURCE,
  localAddressOf,
} from './server.js';
export { sourceGroup } from './source-group.js';
