/**
 * What a PostgreSQL client sends before TLS, read by the pre-TLS acceptor (see
 * @ratls/verifier's tls/pre-tls.ts). Two readers run before the TLS record check:
 *
 * 1. GSSENCRequest → answered `N` (no GSSAPI encryption here), and the client goes on with an
 *    SSLRequest on the same socket (§55.2.11).
 * 2. SSLRequest → answered `S`, then the TLS handshake (§55.2.10); a direct TLS ClientHello (no
 *    SSLRequest, PostgreSQL 17's `sslnegotiation=direct`) only with ALPN `postgresql`; a
 *    CancelRequest (plaintext by design in libpq up to 16) is handed to `cancel` and the socket closed.
 *
 * Bytes in the buffer when an SSLRequest or GSSENCRequest completes were sent before the client
 * could have read our answer: they are refused, never fed to TLS or read as plaintext (the
 * CVE-2021-23214 / CVE-2021-23222 class, where a server buffered plaintext injected after the
 * SSLRequest and later treated it as if it came over TLS).
 */
import type { PreTlsReader, PreTlsVerdict } from '@ratls/verifier';
import { clientHelloAlpn } from './client-hello-alpn.js';
import { PG_ERRORS } from './errors.js';
import {
  ALPN_POSTGRESQL,
  CANCEL_HEADER_BYTES,
  CANCEL_REQUEST_CODE,
  GSSENC_REQUEST_CODE,
  int32,
  MAX_CANCEL_KEY_BYTES,
  NEGOTIATION_REQUEST_BYTES,
  SSL_REQUEST_CODE,
} from './protocol.js';

const TLS_HANDSHAKE_RECORD = 0x16;
const ANSWER_S = Uint8Array.of(0x53);
const ANSWER_N = Uint8Array.of(0x4e);

/** A CancelRequest as read before TLS: the backend process ID and its secret key. */
export interface CancelKey {
  pid: number;
  secret: Uint8Array;
}

/**
 * Handles a well-formed plaintext CancelRequest: true when its key matched a session this gateway
 * relayed (the cancel is forwarded, asynchronously), false otherwise. It must not throw.
 */
export type CancelHandler = (key: CancelKey) => boolean;

const refuse = (code: string, message: string): PreTlsVerdict => ({ kind: 'refuse', code, message });

function negotiation(b: Uint8Array): number | undefined {
  if (b.length < NEGOTIATION_REQUEST_BYTES || int32(b, 0) !== NEGOTIATION_REQUEST_BYTES) return undefined;
  return int32(b, 4);
}

/**
 * GSSENCRequest, when the client starts with one: answered `N`. Anything else is left to the next reader.
 * @example gssencReader.read(negotiationRequest(GSSENC_REQUEST_CODE)); // handoff, consumed 8, reply 'N'
 */
export const gssencReader: PreTlsReader = {
  name: 'postgres-gssenc',
  read(b) {
    if (b.length >= 1 && b[0] === TLS_HANDSHAKE_RECORD) return { kind: 'handoff', consumed: 0 };
    if (b.length < NEGOTIATION_REQUEST_BYTES) return { kind: 'more' };
    if (negotiation(b) !== GSSENC_REQUEST_CODE) return { kind: 'handoff', consumed: 0 };
    if (b.length > NEGOTIATION_REQUEST_BYTES)
      return refuse(
        PG_ERRORS.PIPELINED,
        `${b.length - NEGOTIATION_REQUEST_BYTES} bytes sent after GSSENCRequest before the server's answer`,
      );
    return { kind: 'handoff', consumed: NEGOTIATION_REQUEST_BYTES, reply: ANSWER_N };
  },
};

/**
 * The SSLRequest / direct TLS / CancelRequest reader; `cancel` decides plaintext cancels.
 * @example
 * const readers = [gssencReader, sslRequestReader((key) => cancels.relay(key))];
 * createServer({ key, cert, attestation: { verifier, preTlsReaders: readers } });
 */
export function sslRequestReader(cancel: CancelHandler): PreTlsReader {
  return {
    name: 'postgres-sslrequest',
    read(b) {
      if (b.length >= 1 && b[0] === TLS_HANDSHAKE_RECORD) {
        const hello = clientHelloAlpn(b);
        if (hello.kind === 'more') return hello;
        if (hello.kind === 'malformed') return refuse(PG_ERRORS.DIRECT_TLS_ALPN, `direct TLS: ${hello.why}`);
        if (!hello.protocols.includes(ALPN_POSTGRESQL))
          return refuse(
            PG_ERRORS.DIRECT_TLS_ALPN,
            `direct TLS without ALPN "${ALPN_POSTGRESQL}" (offered: ${hello.protocols.join(', ') || 'none'}); send an SSLRequest or use sslnegotiation=direct with libpq 17+`,
          );
        return { kind: 'handoff', consumed: 0 };
      }
      if (b.length < NEGOTIATION_REQUEST_BYTES) return { kind: 'more' };
      const length = int32(b, 0);
      const code = int32(b, 4);
      if (length === NEGOTIATION_REQUEST_BYTES && code === SSL_REQUEST_CODE) {
        if (b.length > NEGOTIATION_REQUEST_BYTES)
          return refuse(
            PG_ERRORS.PIPELINED,
            `${b.length - NEGOTIATION_REQUEST_BYTES} bytes sent after SSLRequest before the server's answer`,
          );
        return { kind: 'handoff', consumed: NEGOTIATION_REQUEST_BYTES, reply: ANSWER_S };
      }
      if (code === CANCEL_REQUEST_CODE) {
        if (length < CANCEL_HEADER_BYTES + 4 || length > CANCEL_HEADER_BYTES + MAX_CANCEL_KEY_BYTES)
          return refuse(PG_ERRORS.CANCEL_UNKNOWN, `CancelRequest of ${length} bytes`);
        if (b.length < length) return { kind: 'more' };
        if (b.length > length)
          return refuse(PG_ERRORS.CANCEL_UNKNOWN, `${b.length - length} bytes after a CancelRequest`);
        const pid = int32(b, 8);
        const relayed = cancel({ pid, secret: b.slice(CANCEL_HEADER_BYTES, length) });
        return relayed
          ? refuse(PG_ERRORS.CANCEL_RELAYED, `CancelRequest for backend ${pid} relayed to the session's backend`)
          : refuse(PG_ERRORS.CANCEL_UNKNOWN, `CancelRequest for backend ${pid} matches no session of this gateway`);
      }
      if (length === NEGOTIATION_REQUEST_BYTES && code === GSSENC_REQUEST_CODE)
        return refuse(PG_ERRORS.TLS_REQUIRED, 'a second GSSENCRequest');
      return refuse(
        PG_ERRORS.TLS_REQUIRED,
        'plaintext startup: this gateway requires TLS (sslmode=require with an attested client certificate)',
      );
    },
  };
}
