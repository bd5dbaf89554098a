/**
 * The narrow contract between the TLS wrappers and whatever appraises a peer certificate.
 * The wrappers only ever ask one question — "does this certificate's peer get in?" — and hand
 * the answer to the application; everything about evidence, collateral and policy sits behind it.
 */
import type { KeyObject } from 'node:crypto';
import type { ChannelAnswer } from '@ratls/evidence';
import type { Decision } from '../policy/types.js';
import type { AttestationResult } from '../result.js';

export type PeerRole = 'client' | 'server';

/** The policy's decision, passed through to the application untouched. */
export type PeerPolicyDecision = Decision;

export interface PeerCertificateInfo {
  fingerprintSha256: string;
  /** Unix seconds. */
  notBefore: number;
  /** Unix seconds. */
  notAfter: number;
  subject: string;
  formats: string[];
}

export interface PeerContext {
  /** Decision time, Unix milliseconds (the wrappers pass their clock). */
  at: number;
  peer: { ip?: string; port?: number; role: PeerRole };
  /** Our own end of the connection (the audit event's ECS `destination` when the peer is the client). */
  local?: { ip?: string; port?: number };
  listener?: string;
  /** Aborted when the connection's deadline passes; the appraiser then rejects with the reason's code. */
  signal?: AbortSignal;
  /** Client-side freshness: the nonce the server's evidence must carry (disables result caching). */
  expectedNonce?: Uint8Array;
  /** `channel`: this listener or connection requires channel-bound evidence whatever the policy says. */
  freshness?: Freshness;
  /**
   * The public key the TLS stack decoded from this very certificate for the handshake (the
   * wrappers pass `() => socket.getPeerX509Certificate().publicKey`), read only when the
   * certificate is verified rather than found in the result cache. The self-signature is then
   * checked with it once its coordinates are found equal to the certificate's SPKI (saving the
   * fresh key's import); a different key refuses with ERR_CERT_TLS_KEY_MISMATCH, so pass only the
   * key of the same certificate.
   */
  peerPublicKey?: () => KeyObject | undefined;
}

/** Which evidence decides: the certificate's (made when it was issued) or fresh evidence bound to this connection. */
export type Freshness = 'certificate' | 'channel';

/** What the channel step hands the appraiser: the peer's answer and the report data this connection expects. */
export interface ChannelAppraisalInput {
  answer: ChannelAnswer;
  /** The 64 bytes the fresh evidence must carry (binder of this connection, see `channelReportData`). */
  reportData: Uint8Array;
  /** The accepted certificate decision (`freshness: 'channel'`) the fresh evidence must agree with. */
  certificate: PeerDecision;
}

export interface PeerDecision {
  accept: boolean;
  result?: AttestationResult;
  decision?: PeerPolicyDecision;
  error?: { code: string; message: string };
  certificate?: PeerCertificateInfo;
  /**
   * The mode that decided. An accepted certificate with `channel` is not final: the wrapper must
   * run the channel exchange and call `appraiseChannel` (or `reject`), which records the one audit event.
   */
  freshness?: Freshness;
}

/**
 * Appraises a peer's end-entity certificate. Must never throw: every failure is `accept: false`
 * with an `error` carrying a stable RatlsError code.
 */
export interface PeerAppraiser {
  appraise(certDer: Uint8Array, ctx: PeerContext): Promise<PeerDecision>;
  /**
   * The same decision without waiting, when it needs no asynchronous work (the verified result for
   * these bytes is cached and no nonce is asked for): records the one audit event exactly as
   * `appraise` would and returns it. Returns undefined, recording nothing, for anything else; the
   * caller then calls `appraise`. Must never throw. Same decision, event and codes as `appraise`.
   */
  appraiseCached?(certDer: Uint8Array, ctx: Omit<PeerContext, 'signal' | 'peerPublicKey'>): PeerDecision | undefined;
  /**
   * Records a reject that happened before any certificate could be appraised (no certificate,
   * handshake timeout, TLS failure, too many handshakes), so that every attempt yields exactly one
   * audit event in one place.
   */
  reject?(error: { code: string; message: string }, ctx: Omit<PeerContext, 'signal'>): void;
  /**
   * Channel mode: appraises the peer's fresh evidence through the same appraisal code, checks its
   * report data against this connection's binder and that it names the same enclave as the
   * certificate, applies the policy again and records the one audit event. Must never throw.
   */
  appraiseChannel?(input: ChannelAppraisalInput, ctx: PeerContext): Promise<PeerDecision>;
}

/** What an accepted socket carries as `socket.attestation` (and `req.attestation`). */
export interface Attestation {
  result?: AttestationResult;
  decision?: PeerPolicyDecision;
  certificate?: PeerCertificateInfo;
  /** The identity named by the policy, when the decision came from one. */
  identity?: string;
  /** Which evidence decided: `channel` when fresh evidence bound to this connection did (issue 15 issues identities only then). */
  freshness?: Freshness;
}
