/**
 * The verifier's check of one channel answer: the report data this connection expects for our
 * nonce (suite hash over the peer certificate's key and our exporter value), then the appraiser's
 * `appraiseChannel` (same appraisal code, binder, same enclave, policy again, one audit event).
 */
import { type ChannelAnswer, type ChannelSocket, channelReportDataFor, RatlsError } from '@ratls/evidence';
import type { PeerAppraiser, PeerContext, PeerDecision } from '../decide/types.js';

export interface ChannelVerifyOptions {
  appraiser: PeerAppraiser;
  /** The peer's accepted certificate decision (`freshness: 'channel'`). */
  certificate: PeerDecision;
  /** The peer certificate's SubjectPublicKeyInfo DER, read when the handshake completed. */
  peerPublicKey: Uint8Array;
  ctx: PeerContext;
}

/**
 * Appraises a peer's answer to `nonce` on `socket`. Throws (RatlsError) only before appraisal: not
 * TLS 1.3, unknown suite, no channel appraisal. Otherwise the appraiser's decision, which records
 * the audit event (ERR_CHANNEL_BINDING_MISMATCH for evidence bound to another connection, key or nonce).
 * @example const d = await channelVerify(tlsSocket, answer, nonce, { appraiser, certificate, peerPublicKey, ctx })
 */
export async function channelVerify(
  socket: ChannelSocket,
  answer: ChannelAnswer,
  nonce: Uint8Array,
  o: ChannelVerifyOptions,
): Promise<PeerDecision> {
  if (!o.appraiser.appraiseChannel) {
    throw new RatlsError('ERR_CHANNEL_UNSUPPORTED', 'channel', 'the appraiser has no channel appraisal');
  }
  const reportData = channelReportDataFor(socket, nonce, o.peerPublicKey);
  return o.appraiser.appraiseChannel({ answer, reportData, certificate: o.certificate }, o.ctx);
}
