/**
 * The freshness seam of `ratls client`: what runs after the TLS connection to the server is up
 * and the server accepted, and before the first byte of the local program is piped. A rejecting
 * step destroys the connection and nothing of the local program reaches the server.
 *
 * - Certificate mode: the certificate decision is the whole decision; nothing more runs.
 * - Channel mode, attested server: the exchange already ran inside `connect` (verifier
 *   tls/client.ts) before the socket was accepted: the client sent its hello, challenged the
 *   server when its policy identity says `freshness: channel`, and answered the server's
 *   challenge only after the server's certificate (and fresh evidence, when asked) was accepted.
 * - Channel mode, server judged by a CA: nothing to challenge (no evidence); the client answers
 *   the server's challenge here, after web-PKI accepted the server.
 */
import type { TLSSocket } from 'node:tls';
import { answerChannelChallenges } from '@ratls/attester';
import type { ChannelAttester } from '@ratls/evidence';

export interface AfterHandshakeContext {
  listener: string;
  freshness: 'certificate' | 'channel';
  /** How the server was judged: `attested` sockets ran the channel exchange inside `connect`. */
  verify: 'attested' | 'ca';
}

/** Resolves when the connection may carry application bytes; rejects (typed error) when not. */
export type AfterHandshake = (socket: TLSSocket, ctx: AfterHandshakeContext) => Promise<void>;

/**
 * Certificate mode: nothing more to prove after the certificate decision.
 * @example await certificateMode(tlsSocket, { listener: 'redis', freshness: 'certificate', verify: 'attested' })
 */
export const certificateMode: AfterHandshake = async () => {};

/**
 * The step for a client that can answer challenges: in channel mode towards a CA-judged server,
 * answer its challenge with `attester` (bounded by `timeoutMs`); otherwise nothing.
 * @example const step = channelMode(createChannelAttester({ provider }), 5000)
 */
export function channelMode(attester: ChannelAttester, timeoutMs: number): AfterHandshake {
  return async (socket, ctx) => {
    if (ctx.freshness !== 'channel' || ctx.verify !== 'ca') return;
    await answerChannelChallenges(socket, { attester, role: 'client', timeoutMs });
  };
}
