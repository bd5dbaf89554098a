/**
 * PostgreSQL frontend/backend protocol constants and the few messages the gateway writes itself.
 * Layouts from the PostgreSQL 15 manual, §55.7 "Message Formats" (§55.2.10 for SSLRequest, §55.2.11
 * for GSSENCRequest, §55.2.9 for CancelRequest). Every integer is big-endian.
 */

/** Int32 request codes in the place of a StartupMessage's protocol version (§55.7). */
export const SSL_REQUEST_CODE = 80877103;
export const GSSENC_REQUEST_CODE = 80877104;
export const CANCEL_REQUEST_CODE = 80877102;
/** Protocol 3.0 (major 3 in the high 16 bits); PostgreSQL 18 also speaks 3.2. */
export const PROTOCOL_MAJOR_3 = 3;
/** SSLRequest and GSSENCRequest are exactly Int32(8) Int32(code). */
export const NEGOTIATION_REQUEST_BYTES = 8;
/** CancelRequest: Int32 length, Int32 code, Int32 process ID, then the secret key (4 bytes in 3.0, up to 256 in 3.2). */
export const CANCEL_HEADER_BYTES = 12;
export const MAX_CANCEL_KEY_BYTES = 256;
/**
 * The server's own bound on a startup packet (MAX_STARTUP_PACKET_LENGTH in
 * src/include/libpq/pqcomm.h is 10000); we refuse anything longer the same way.
 */
export const MAX_STARTUP_BYTES = 10_000;
/** The ALPN protocol PostgreSQL 17 requires on a direct TLS connection (§55.2.10 "direct SSL"). */
export const ALPN_POSTGRESQL = 'postgresql';

/** Reads a big-endian Int32 at `off`; the caller has checked the bounds. */
export function int32(b: Uint8Array, off: number): number {
  return (
    (((b[off] as number) << 24) |
      ((b[off + 1] as number) << 16) |
      ((b[off + 2] as number) << 8) |
      (b[off + 3] as number)) >>>
    0
  );
}

/** A negotiation request (`code` = SSL_REQUEST_CODE or GSSENC_REQUEST_CODE) as a client sends it. */
export function negotiationRequest(code: number): Uint8Array {
  const b = new Uint8Array(NEGOTIATION_REQUEST_BYTES);
  const v = new DataView(b.buffer);
  v.setInt32(0, NEGOTIATION_REQUEST_BYTES);
  v.setInt32(4, code);
  return b;
}

/** SQLSTATE codes the gateway's ErrorResponses carry (PostgreSQL Appendix A). */
export const SQLSTATE = {
  /** 28000 invalid_authorization_specification: the role does not match the identity. */
  INVALID_AUTHORIZATION: '28000',
  /** 08P01 protocol_violation: a malformed or unexpected startup packet. */
  PROTOCOL_VIOLATION: '08P01',
  /** 0A000 feature_not_supported: replication, options. */
  FEATURE_NOT_SUPPORTED: '0A000',
  /** 08006 connection_failure: the backend could not be reached. */
  CONNECTION_FAILURE: '08006',
} as const;

/**
 * A FATAL ErrorResponse ('E', §55.7): fields S and V (severity), C (SQLSTATE), M (message), then
 * the terminating zero byte. psql prints it as `FATAL:  <message>`.
 * @example sock.end(errorResponse('28000', 'role "admin" is not the role mapped to identity "payments"'));
 */
export function errorResponse(sqlstate: string, message: string): Uint8Array {
  const enc = new TextEncoder();
  const fields: [string, string][] = [
    ['S', 'FATAL'],
    ['V', 'FATAL'],
    ['C', sqlstate],
    ['M', message.replaceAll('\0', '')],
  ];
  const parts = fields.flatMap(([t, v]) => [enc.encode(t), enc.encode(v), Uint8Array.of(0)]);
  const bodyLength = parts.reduce((n, p) => n + p.length, 0) + 1;
  const out = new Uint8Array(1 + 4 + bodyLength);
  out[0] = 0x45; // 'E'
  new DataView(out.buffer).setInt32(1, 4 + bodyLength);
  let off = 5;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  out[off] = 0;
  return out;
}
