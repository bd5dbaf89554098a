/**
 * Stable codes of the PostgreSQL forwarder (registered in @ratls/evidence's error-codes.ts). The
 * pre-TLS ones reach the audit through the acceptor's refusal; the startup ones through the
 * forwarder's own audit event, next to the ErrorResponse the client prints.
 */
export const PG_ERRORS = {
  /** Bytes arrived after an SSLRequest or GSSENCRequest before our one-byte answer (CVE-2021-23214 class). */
  PIPELINED: 'ERR_PG_PIPELINED',
  /** A direct TLS ClientHello without ALPN `postgresql`, or one that does not parse. */
  DIRECT_TLS_ALPN: 'ERR_PG_DIRECT_TLS_ALPN',
  /** A plaintext StartupMessage or an unknown request where TLS must start. */
  TLS_REQUIRED: 'ERR_PG_TLS_REQUIRED',
  /** A CancelRequest whose key matches a session this gateway relayed: forwarded to its backend. */
  CANCEL_RELAYED: 'ERR_PG_CANCEL_RELAYED',
  /** A CancelRequest whose key matches no session this gateway relayed (or a malformed one): dropped. */
  CANCEL_UNKNOWN: 'ERR_PG_CANCEL_UNKNOWN',
  /** The StartupMessage is malformed, too long, or not protocol 3. */
  STARTUP_MALFORMED: 'ERR_PG_STARTUP_MALFORMED',
  /** No complete StartupMessage within the startup deadline. */
  STARTUP_TIMEOUT: 'ERR_PG_STARTUP_TIMEOUT',
  /** The accepted identity has no role in `roles`. */
  ROLE_NOT_MAPPED: 'ERR_PG_ROLE_NOT_MAPPED',
  /** `user` is not the role mapped to the accepted identity. */
  ROLE_MISMATCH: 'ERR_PG_ROLE_MISMATCH',
  /** Non-empty `options` (which can carry `-c role=…`, `-c session_authorization=…`). */
  OPTIONS_REFUSED: 'ERR_PG_OPTIONS_REFUSED',
  /** A `replication` startup parameter. */
  REPLICATION_REFUSED: 'ERR_PG_REPLICATION_REFUSED',
  /** A startup parameter outside the allowed set (role, session_authorization, any other GUC). */
  PARAMETER_REFUSED: 'ERR_PG_PARAMETER_REFUSED',
  /** The backend cannot be reached, or its startup answer is malformed or too large. */
  BACKEND: 'ERR_PG_BACKEND',
} as const;
