/**
 * An `https.Agent` whose sockets are attested connections: `https.request({ agent })` writes the
 * request into the gated socket, so nothing leaves before the server is accepted, and a
 * rejected server fails the request with the reason's code.
 */

import https from 'node:https';
import type { Duplex } from 'node:stream';
import type tls from 'node:tls';
import { resolveAppraiser } from '../decide/peer-verifier.js';
import { type ClientAttestationOptions, connect } from './client.js';

export type AttestedAgentOptions = https.AgentOptions & { attestation: ClientAttestationOptions };

/**
 * @example
 * const agent = new Agent({ attestation: { verifier } });
 * https.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
 *   console.log((res.socket as AttestedClientSocket).attestation?.identity);
 * });
 */
export class Agent extends https.Agent {
  readonly attestation: ClientAttestationOptions;

  constructor(options: AttestedAgentOptions) {
    const { attestation, ...agentOptions } = options;
    // Channel mode never resumes a TLS session, so the agent keeps none.
    super({ ...agentOptions, rejectUnauthorized: false, ...(attestation.channel ? { maxCachedSessions: 0 } : {}) });
    // One appraiser for every socket of this agent, so its result cache is shared.
    this.attestation = { ...attestation, verifier: resolveAppraiser(attestation) };
  }

  override createConnection(options: https.RequestOptions): Duplex {
    // The HTTP client may write at once: the gated socket holds it until the decision.
    return connect({ ...(options as tls.ConnectionOptions), attestation: this.attestation });
  }
}
