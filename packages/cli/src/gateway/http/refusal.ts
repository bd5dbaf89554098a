import { CHANNEL_REFUSAL_REASON } from '@ratls/evidence';

/**
 * Every reason the gateway refuses an HTTP request, with its status and stable error code: one
 * registry, so the response body, the audit event and the docs use the same words. Reasons are a
 * bounded set (safe as metric labels and alert keys); codes never change meaning.
 */

export const HTTP_REFUSALS = {
  // Request target (RFC 9112 §3.2, RFC 3986 §3.3)
  bad_request_target: { status: 400, code: 'ERR_HTTP_BAD_TARGET' },
  absolute_form: { status: 400, code: 'ERR_HTTP_ABSOLUTE_FORM' },
  asterisk_form: { status: 400, code: 'ERR_HTTP_ASTERISK_FORM' },
  invalid_path_char: { status: 400, code: 'ERR_HTTP_PATH_CHAR' },
  bad_percent_encoding: { status: 400, code: 'ERR_HTTP_PERCENT_ENCODING' },
  encoded_slash: { status: 400, code: 'ERR_HTTP_ENCODED_SLASH' },
  encoded_control: { status: 400, code: 'ERR_HTTP_ENCODED_CONTROL' },
  double_encoding: { status: 400, code: 'ERR_HTTP_DOUBLE_ENCODING' },
  backslash: { status: 400, code: 'ERR_HTTP_BACKSLASH' },
  path_parameter_dot_segment: { status: 400, code: 'ERR_HTTP_PATH_PARAMETER' },
  path_escapes_base: { status: 400, code: 'ERR_HTTP_PATH_ESCAPES_BASE' },
  invalid_query: { status: 400, code: 'ERR_HTTP_QUERY' },
  // Message framing (RFC 9112 §6)
  te_and_cl: { status: 400, code: 'ERR_HTTP_TE_AND_CL' },
  invalid_transfer_encoding: { status: 400, code: 'ERR_HTTP_TRANSFER_ENCODING' },
  unsupported_transfer_coding: { status: 501, code: 'ERR_HTTP_TRANSFER_CODING' },
  te_in_http10: { status: 400, code: 'ERR_HTTP_TE_HTTP10' },
  bad_content_length: { status: 400, code: 'ERR_HTTP_CONTENT_LENGTH' },
  duplicate_content_length: { status: 400, code: 'ERR_HTTP_DUPLICATE_CONTENT_LENGTH' },
  body_too_large: { status: 413, code: 'ERR_HTTP_BODY_TOO_LARGE' },
  incomplete_body: { status: 400, code: 'ERR_HTTP_INCOMPLETE_BODY' },
  // Header section (RFC 9110 §5, RFC 9112 §5)
  too_many_headers: { status: 431, code: 'ERR_HTTP_TOO_MANY_HEADERS' },
  headers_too_large: { status: 431, code: 'ERR_HTTP_HEADERS_TOO_LARGE' },
  malformed_header: { status: 400, code: 'ERR_HTTP_MALFORMED_HEADER' },
  missing_host: { status: 400, code: 'ERR_HTTP_MISSING_HOST' },
  duplicate_host: { status: 400, code: 'ERR_HTTP_DUPLICATE_HOST' },
  malformed_request: { status: 400, code: 'ERR_HTTP_MALFORMED' },
  request_timeout: { status: 408, code: 'ERR_HTTP_REQUEST_TIMEOUT' },
  // Methods and protocol switches the gateway does not proxy
  connect_unsupported: { status: 501, code: 'ERR_HTTP_CONNECT' },
  upgrade_unsupported: { status: 501, code: 'ERR_HTTP_UPGRADE' },
  expectation_unsupported: { status: 417, code: 'ERR_HTTP_EXPECTATION' },
  // Access
  not_attested: { status: 403, code: 'ERR_HTTP_NOT_ATTESTED' },
  // Backend
  bad_gateway: { status: 502, code: 'ERR_HTTP_BAD_GATEWAY' },
  backend_tls: { status: 502, code: 'ERR_HTTP_BACKEND_TLS' },
} as const satisfies Record<string, { status: number; code: string }>;

export type HttpRefusalReason = keyof typeof HTTP_REFUSALS;

/** A refused request: the reason (stable), its status and code, and a detail for the audit log. */
export interface HttpRefusal {
  reason: HttpRefusalReason;
  status: number;
  code: string;
  detail: string;
}

/**
 * Builds a refusal from its reason.
 * @example refusal('path_escapes_base', '/../admin').status // 400
 */
export function refusal(reason: HttpRefusalReason, detail: string): HttpRefusal {
  const r = HTTP_REFUSALS[reason];
  return { reason, status: r.status, code: r.code, detail };
}

/** The response header naming the reason an attestation was refused (the client library reads it). */
export const REFUSAL_HEADER = 'x-ratls-refusal';

/**
 * The 403 a listener with `refusal: http-403` sends a refused peer over the finished handshake,
 * before closing: the reason code only (`measurement_mismatch`, `tcb_status_not_allowed`, …),
 * never an identity, a measurement or the closest match (those stay in the audit log). A reason
 * outside the channel frame's `CHANNEL_REFUSAL_REASON` (the one pattern for every refusal a peer
 * reads, frame or header) is sent as `refused`, so no caller can put other words on the wire.
 * @example attestationRefusal('measurement_mismatch') // bytes of "HTTP/1.1 403 Forbidden\r\n…"
 */
export function attestationRefusal(reason: string): Uint8Array {
  const code = CHANNEL_REFUSAL_REASON.test(reason) ? reason : 'refused';
  const body = `${JSON.stringify({ error: 'attestation_refused', reason: code })}\n`;
  const head = [
    'HTTP/1.1 403 Forbidden',
    'content-type: application/json',
    `content-length: ${Buffer.byteLength(body)}`,
    `${REFUSAL_HEADER}: ${code}`,
    'connection: close',
  ].join('\r\n');
  return new TextEncoder().encode(`${head}\r\n\r\n${body}`);
}
