/**
 * The attester side of channel mode: for a verifier's nonce, evidence whose report data is the
 * binder of this very TLS connection (draft-fossati-seat-expat-04 §5.1), made by the quote provider
 * behind a serialized, per-source rate-limited gate.
 */
import { type ChannelAnswer, type ChannelAttester, channelReportDataFor } from '@ratls/evidence';
import type { QuoteProvider } from '../providers/types.js';
import { QuoteGate, type QuoteGateOptions } from './quote-gate.js';

export interface ChannelAttesterOptions extends QuoteGateOptions {
  provider: QuoteProvider;
}

/**
 * A ChannelAttester over a quote provider (Gramine, configfs-tsm, Nitro NSM, simulated).
 * @example
 * const attester = createChannelAttester({ provider: await detectProvider(), perSourceBurst: 4 });
 * const answer = await attester.answer(tlsSocket, nonce, tlsSocket.remoteAddress ?? '');
 */
export function createChannelAttester(opts: ChannelAttesterOptions): ChannelAttester & { readonly gate: QuoteGate } {
  const { provider, ...gateOptions } = opts;
  const gate = new QuoteGate(gateOptions);
  return {
    gate,
    async answer(socket, nonce, source): Promise<ChannelAnswer> {
      const reportData = channelReportDataFor(socket, nonce);
      const ev = await gate.run(source, () => provider.getEvidence(reportData));
      const out: ChannelAnswer = { type: 'answer', tee: ev.tee, evidence: ev.evidence };
      if (ev.aux) out.aux = ev.aux;
      return out;
    },
  };
}
