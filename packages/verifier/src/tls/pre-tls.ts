/**
 * What may come before TLS on an attested listener, read by the pre-TLS acceptor. Each reader is a
 * pure function of the bytes received so far (from where the previous reader stopped) and answers
 * one of three things: hand off (its part is complete; `consumed` bytes were its own), need more,
 * or refuse (with a stable code). The acceptor always ends the chain with `tlsRecordReader`, so a
 * socket reaches the TLS server only once it has sent the header of a TLS handshake record.
 * A PROXY protocol v2 reader (declaring the real source) or PostgreSQL's SSLRequest (answered with
 * `reply`) plug in before it.
 */
import { TLS_ERRORS } from '../decide/errors.js';

/** The socket's real source, as declared by something before TLS (a PROXY v2 header). */
export interface DeclaredSource {
  ip: string;
  port?: number;
}

/** The TCP peer of a socket being read before TLS (the balancer, when there is one). */
export interface PreTlsPeer {
  ip?: string;
  port?: number;
}

export type PreTlsVerdict =
  | {
      kind: 'handoff';
      /** Bytes at the start that belonged to this reader and are not passed on. */
      consumed: number;
      /** Count and audit this connection under this source instead of the TCP peer. */
      source?: DeclaredSource;
      /** Bytes to send the peer before going on (PostgreSQL answers an SSLRequest with `S`). */
      reply?: Uint8Array;
    }
  | { kind: 'more' }
  | { kind: 'refuse'; code: string; message: string };

export interface PreTlsReader {
  /** For diagnostics: which reader refused. */
  readonly name: string;
  /**
   * Must be pure (of the bytes and the TCP peer) and must not throw (a throw refuses the
   * connection with ERR_TLS_PRE_TLS_FAILED). `peer` is the TCP peer, for readers whose answer
   * depends on who sent the bytes (a PROXY v2 header is only believed from a configured balancer).
   */
  read(bytes: Uint8Array, peer?: PreTlsPeer): PreTlsVerdict;
  /**
   * True when connections from this TCP peer will declare their real source (a configured
   * balancer speaking PROXY v2). The per-source cap then counts them under the declared source
   * from hand-off on, not under the balancer's address on accept; the global cap and the
   * first-byte deadline still apply from accept.
   */
  declaresSource?(peerIp: string | undefined): boolean;
}

/** RFC 8446 §5.1: ContentType handshake(22). */
const CONTENT_TYPE_HANDSHAKE = 0x16;
/** RFC 8446 §5.1: legacy_record_version is 0x03XX for every TLS version (and SSL 3.0). */
const RECORD_VERSION_MAJOR = 0x03;
/** type(1) + legacy_record_version(2) + length(2). */
export const TLS_RECORD_HEADER_BYTES = 5;
/** RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes." */
const MAX_PLAINTEXT_RECORD = 2 ** 14;

/** Module level, not per read: it runs for every accepted connection. */
function notTls(what: string): PreTlsVerdict {
  return {
    kind: 'refuse',
    code: TLS_ERRORS.NOT_TLS_HANDSHAKE,
    message: `client did not start a TLS handshake: ${what}`,
  };
}

/**
 * Hands off once a complete TLS handshake record header has arrived; refuses the first byte that
 * cannot start one (an HTTP request, an SSLv2 hello, a port scanner's banner probe).
 * @example tlsRecordReader.read(Uint8Array.of(0x47)); // { kind: 'refuse', code: 'ERR_TLS_NOT_TLS_HANDSHAKE', … }
 */
export const tlsRecordReader: PreTlsReader = {
  name: 'tls-record',
  read(b) {
    if (b.length >= 1 && b[0] !== CONTENT_TYPE_HANDSHAKE)
      return notTls(`first byte 0x${(b[0] as number).toString(16).padStart(2, '0')} is not a handshake record`);
    if (b.length >= 2 && b[1] !== RECORD_VERSION_MAJOR)
      return notTls(`record version major 0x${(b[1] as number).toString(16).padStart(2, '0')}`);
    if (b.length < TLS_RECORD_HEADER_BYTES) return { kind: 'more' };
    const length = ((b[3] as number) << 8) | (b[4] as number);
    if (length === 0 || length > MAX_PLAINTEXT_RECORD) return notTls(`record length ${length}`);
    return { kind: 'handoff', consumed: 0 };
  },
};
