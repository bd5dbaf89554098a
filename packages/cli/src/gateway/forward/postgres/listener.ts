/**
 * What a `forward: { postgres }` listener adds to an attested listener: the pre-TLS readers
 * (GSSENCRequest, SSLRequest, direct TLS, plaintext CancelRequest), the TLS server's ALPN choice,
 * and the per-listener record of relayed cancel keys shared by both.
 */
import type tls from 'node:tls';
import type { AuditLog, PreTlsReader } from '@ratls/verifier';
import type { PostgresForwardTarget } from '../../config/config.js';
import type { GatewayLog } from '../../log.js';
import { CancelKeys } from './cancel-keys.js';
import { forwardPostgres } from './forward.js';
import { gssencReader, sslRequestReader } from './pre-tls.js';
import { ALPN_POSTGRESQL } from './protocol.js';

export interface PostgresListener {
  preTlsReaders: readonly PreTlsReader[];
  tlsOptions: Pick<tls.TlsOptions, 'ALPNCallback'>;
  cancels: CancelKeys;
  forward(
    sock: tls.TLSSocket,
    target: PostgresForwardTarget,
    ctx: { audit: AuditLog; listener: string; clock: () => number; log: GatewayLog },
  ): void;
}

/**
 * @example
 * const pg = postgresListener();
 * createServer({ key, cert, ...pg.tlsOptions, attestation: { verifier, preTlsReaders: pg.preTlsReaders } });
 */
export function postgresListener(): PostgresListener {
  const cancels = new CancelKeys();
  return {
    cancels,
    preTlsReaders: [gssencReader, sslRequestReader((key) => cancels.relay(key))],
    tlsOptions: {
      // A client that offers ALPN must offer `postgresql` (PostgreSQL 17 refuses others with
      // no_application_protocol); one that offers none came through SSLRequest (the pre-TLS
      // reader refuses direct TLS without it).
      ALPNCallback: ({ protocols }) => (protocols.includes(ALPN_POSTGRESQL) ? ALPN_POSTGRESQL : undefined),
    },
    forward(sock, target, { audit, listener, clock, log }) {
      forwardPostgres(sock, {
        backend: target.backend,
        roles: target.roles,
        cancels,
        startupTimeoutMs: target.startupTimeoutMs,
        onRefused: (error, identity) =>
          audit.record({
            error: { code: error.code, message: `${identity}: ${error.message}` },
            peer: { ip: sock.remoteAddress, port: sock.remotePort },
            listener,
            action: 'ratls-postgres-startup',
            at: new Date(clock()),
          }),
        onBackendError: (e) => log('warn', 'postgres backend failed', { listener, error: e.message }),
      });
    },
  };
}
