/**
 * An undici Dispatcher whose connections are attested: `fetch(url, { dispatcher })` (undici's
 * fetch) gets its socket only after the server was accepted.
 */
import type tls from 'node:tls';
import { RatlsError } from '@ratls/evidence';
import { Agent as UndiciAgent } from 'undici';
import { TLS_ERRORS } from '../decide/errors.js';
import { resolveAppraiser } from '../decide/peer-verifier.js';
import { type ClientAttestationOptions, connect } from './client.js';

export interface AttestedDispatcherOptions extends Omit<UndiciAgent.Options, 'connect' | 'tls'> {
  attestation: ClientAttestationOptions;
  /** Client TLS options (key/cert for mutual RA-TLS, ALPN, ciphers). Verification options are overridden. */
  tls?: tls.ConnectionOptions;
}

/**
 * @example
 * import { fetch } from 'undici';
 * const dispatcher = createAttestedDispatcher({ attestation: { verifier } });
 * const res = await fetch(`https://127.0.0.1:${port}/`, { dispatcher });
 */
export function createAttestedDispatcher(options: AttestedDispatcherOptions): UndiciAgent {
  const { attestation: given, tls: tlsOptions, ...agentOptions } = options;
  // One appraiser for every connection of this dispatcher, so its result cache is shared.
  const attestation: ClientAttestationOptions = { ...given, verifier: resolveAppraiser(given) };
  return new UndiciAgent({
    ...agentOptions,
    connect(opts, callback) {
      if (opts.protocol !== 'https:') {
        callback(
          new RatlsError(
            TLS_ERRORS.NOT_TLS,
            'tls',
            `attested dispatcher refuses ${opts.protocol} origins: TLS is required`,
          ),
          null,
        );
        return;
      }
      const host = opts.hostname.startsWith('[') ? opts.hostname.slice(1, -1) : opts.hostname;
      const socket = connect({
        ALPNProtocols: ['http/1.1'],
        ...tlsOptions,
        host,
        port: Number(opts.port) || 443,
        ...(opts.servername ? { servername: opts.servername } : {}),
        ...(opts.localAddress ? { localAddress: opts.localAddress } : {}),
        attestation,
      });
      let done = false;
      socket.once('attested', () => {
        if (done) return;
        done = true;
        callback(null, socket);
      });
      socket.once('error', (e: Error) => {
        if (done) return;
        done = true;
        callback(e, null);
      });
      socket.once('close', () => {
        if (done) return;
        done = true;
        callback(
          new RatlsError(TLS_ERRORS.CLOSED_BEFORE_DECISION, 'tls', 'connection closed before the attestation decision'),
          null,
        );
      });
    },
  });
}
