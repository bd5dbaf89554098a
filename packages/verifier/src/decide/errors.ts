/**
 * Stable codes for rejects decided by the TLS layer itself (before or around appraisal).
 * Appraisal and policy failures keep the code their own step gave them.
 */
import { RatlsError } from '@ratls/evidence';
import { isVerifiedResult } from '../result.js';
import type { PeerDecision } from './types.js';

export const TLS_ERRORS = {
  /** The peer presented no certificate (server: client sent none despite the request). */
  NO_PEER_CERTIFICATE: 'ERR_TLS_NO_PEER_CERTIFICATE',
  /** The handshake plus the decision did not finish within the deadline. */
  HANDSHAKE_TIMEOUT: 'ERR_TLS_HANDSHAKE_TIMEOUT',
  /** The TLS handshake itself failed (bad record, protocol mismatch, peer hung up). */
  HANDSHAKE_FAILED: 'ERR_TLS_HANDSHAKE_FAILED',
  /** `maxConcurrentHandshakes` connections were already waiting for a decision. */
  TOO_MANY_HANDSHAKES: 'ERR_TLS_TOO_MANY_HANDSHAKES',
  /** `maxPendingPerSource` connections from this source (IPv4 address, IPv6 /64) were already waiting. */
  TOO_MANY_FROM_SOURCE: 'ERR_TLS_TOO_MANY_FROM_SOURCE',
  /** This source started more than `maxHandshakesPerSecondPerSource` handshakes in the last second. */
  SOURCE_RATE_LIMITED: 'ERR_TLS_SOURCE_RATE_LIMITED',
  /** No complete TLS record header arrived within `clientHelloTimeoutMs` of accept. */
  CLIENT_HELLO_TIMEOUT: 'ERR_TLS_CLIENT_HELLO_TIMEOUT',
  /** The first bytes cannot start a TLS handshake record (plain HTTP, SSLv2, a banner probe). */
  NOT_TLS_HANDSHAKE: 'ERR_TLS_NOT_TLS_HANDSHAKE',
  /** More bytes arrived before TLS than any pre-TLS reader may need. */
  PRE_TLS_TOO_LARGE: 'ERR_TLS_PRE_TLS_TOO_LARGE',
  /** A pre-TLS reader threw or answered something impossible (fail closed). */
  PRE_TLS_FAILED: 'ERR_TLS_PRE_TLS_FAILED',
  /** Appraising one certificate took longer than `appraisalTimeoutMs`. */
  APPRAISAL_TIMEOUT: 'ERR_TLS_APPRAISAL_TIMEOUT',
  /** The peer certificate is larger than the configured bound. */
  CERTIFICATE_TOO_LARGE: 'ERR_TLS_CERTIFICATE_TOO_LARGE',
  /** The appraiser threw or returned something that is not a decision. */
  APPRAISER_FAILED: 'ERR_TLS_APPRAISER_FAILED',
  /** A result that no ratls appraiser produced reached the policy step. */
  RESULT_UNVERIFIED: 'ERR_TLS_RESULT_UNVERIFIED',
  /** The peer sent more than the hold limit before the decision was made. */
  EARLY_DATA_OVERFLOW: 'ERR_TLS_EARLY_DATA_OVERFLOW',
  /** The socket closed before a decision was made. */
  CLOSED_BEFORE_DECISION: 'ERR_TLS_CLOSED_BEFORE_DECISION',
  /** The attested dispatcher was asked for a plain-text (non-TLS) origin. */
  NOT_TLS: 'ERR_TLS_NOT_TLS',
  /** The peer was rejected (generic fallback when the decision carries no code). */
  PEER_REJECTED: 'ERR_TLS_PEER_REJECTED',
  /** The server refused this client's attestation: an explicit refusal, or a close right after the handshake. */
  REFUSED_BY_SERVER: 'ERR_TLS_REFUSED_BY_SERVER',
} as const;

/**
 * The server refused *this client's* attestation (the client had accepted the server). `reason`
 * is the server's reason code when it sent one (`refusal: http-403` on a ratls gateway:
 * `measurement_mismatch`, `tcb_status_not_allowed`, …); otherwise `unknown`, inferred from a
 * reset or close right after the handshake, before any byte from the server.
 * @example socket.on('error', (e) => { if (e instanceof AttestationRefusedError) console.error(e.reason) })
 */
export class AttestationRefusedError extends RatlsError<string> {
  readonly reason: string;
  /** True when the server said so explicitly; false when inferred from the connection's end. */
  readonly explicit: boolean;
  constructor(reason: string | undefined, options?: { cause?: unknown }) {
    const explicit = reason !== undefined;
    super(
      TLS_ERRORS.REFUSED_BY_SERVER,
      'tls',
      explicit
        ? `attested TLS: the server refused this client's attestation: ${reason}`
        : "attested TLS: the server closed the connection right after the handshake, before answering: it most likely refused this client's attestation (see the server's audit log)",
      options,
    );
    this.reason = reason ?? 'unknown';
    this.explicit = explicit;
  }
}

/**
 * A peer was refused. `code` is the failing step's own code, or `ERR_POLICY_REJECTED` when the
 * policy refused a verified peer; `reason` is then the policy's reason code (e.g.
 * `measurement_mismatch`), as in the audit event. `peerDecision` carries the full answer.
 */
export class AttestationRejectedError extends RatlsError<string> {
  readonly reason: string;
  readonly peerDecision: PeerDecision | undefined;
  constructor(
    code: string,
    reason: string,
    message: string,
    peerDecision?: PeerDecision,
    options?: { cause?: unknown },
  ) {
    super(code, 'tls', message, options);
    this.reason = reason;
    this.peerDecision = peerDecision;
  }

  /** Builds the error for a rejecting decision. */
  static fromDecision(d: PeerDecision): AttestationRejectedError {
    if (d.error) {
      return new AttestationRejectedError(
        d.error.code,
        d.error.code,
        `attested TLS: peer rejected: ${d.error.message}`,
        d,
      );
    }
    if (d.decision && !d.decision.accept) {
      const r = d.decision.reasons[0];
      const text = d.decision.reasons.map((x) => x.message).join('; ') || 'refused by policy';
      return new AttestationRejectedError(
        POLICY_REJECTED,
        r?.code ?? 'no_decision',
        `attested TLS: peer refused by policy: ${text}`,
        d,
      );
    }
    return new AttestationRejectedError(TLS_ERRORS.PEER_REJECTED, 'no_decision', 'attested TLS: peer rejected', d);
  }
}

/** Code of a verified peer the policy refused (same as the audit event's `error.code`). */
export const POLICY_REJECTED = 'ERR_POLICY_REJECTED';

/**
 * Coerces whatever an appraiser returned into a decision; anything malformed rejects. An accept
 * that carries a result no ratls appraiser produced (a look-alike object, an edited copy) is
 * refused with ERR_TLS_RESULT_UNVERIFIED, so a custom appraiser cannot hand the application a
 * forged `socket.attestation.result`.
 */
export function normalizeDecision(d: unknown): PeerDecision {
  if (typeof d === 'object' && d !== null && (d as { accept?: unknown }).accept === true) {
    const result = (d as { result?: unknown }).result;
    if (result !== undefined && !isVerifiedResult(result)) {
      return {
        accept: false,
        error: { code: TLS_ERRORS.RESULT_UNVERIFIED, message: 'appraiser accepted with a result no appraiser made' },
      };
    }
    return d as PeerDecision;
  }
  if (typeof d === 'object' && d !== null && (d as { accept?: unknown }).accept === false) return d as PeerDecision;
  return {
    accept: false,
    error: { code: TLS_ERRORS.APPRAISER_FAILED, message: 'appraiser returned no decision' },
  };
}
