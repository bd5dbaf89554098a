/**
 * The contract between a verifier's channel exchange and whatever answers challenges inside the
 * TEE. The verifier package never depends on the attester package: it takes any `ChannelAttester`
 * (`createChannelAttester` from @ratls/attester makes one over a quote provider).
 */
import type { ChannelAnswer } from './frame.js';

/** The parts of a TLS socket the attester reads (a `tls.TLSSocket` has them all). */
export interface ChannelSocket {
  exportKeyingMaterial(length: number, label: string, context?: Buffer): Buffer;
  getCipher(): { name: string; standardName?: string; version: string };
  getProtocol(): string | null;
  getX509Certificate(): { publicKey: { export(o: { type: 'spki'; format: 'der' }): Buffer } } | undefined;
}

export interface ChannelAttester {
  /**
   * Fresh evidence for the verifier's `nonce` on this connection; `source` names the peer for
   * per-source rate limits. Throws RatlsError (ERR_CHANNEL_*, or the provider's own codes).
   */
  answer(socket: ChannelSocket, nonce: Uint8Array, source: string): Promise<ChannelAnswer>;
}
