/**
 * The attester-only side of the channel exchange for programs that verify the peer some other way
 * (or not in channel mode): speak the hello, answer the peer's challenge, put back what follows.
 * `ratls client` and `connect({ attestation: { channel: { attester } } })` use the full exchange;
 * this is for a plain `tls.TLSSocket` an application already holds.
 */
import {
  type ChannelAttester,
  ChannelFrameBuffer,
  type ChannelSocket,
  type ChannelStream,
  DEFAULT_MAX_CHANNEL_FRAME_BYTES,
  encodeChannelFrame,
  nextChannelMessage,
  RatlsError,
  releaseChannelStream,
} from '@ratls/evidence';
import type { QuoteProvider } from '../providers/types.js';
import { createChannelAttester } from './channel-attester.js';

export interface AnswerChannelOptions {
  /** A shared attester (its rate limits then span connections), or a provider to make one. */
  attester?: ChannelAttester;
  provider?: QuoteProvider;
  /** Our TLS role: the client speaks first (default 'client'). */
  role?: 'client' | 'server';
  /** Bound on the whole exchange (default 5 s). */
  timeoutMs?: number;
  maxFrameBytes?: number;
  /** Rate-limit key of the peer (default its remote address). */
  source?: string;
}

type Socket = ChannelSocket & ChannelStream & { write(b: Uint8Array): boolean; remoteAddress?: string | undefined };

/**
 * Answers the peer's channel challenge on an established TLS 1.3 socket. Call it only after the
 * handshake completed and, when the peer is the verifier, after you authenticated it: an
 * unauthenticated peer must not make the TEE produce quotes. Resolves once the answer is sent.
 * @example
 * const socket = tls.connect({ host, port, key, cert, rejectUnauthorized: false });
 * await once(socket, 'secureConnect'); // …verify the server…
 * await answerChannelChallenges(socket, { provider });
 * socket.write('PING\r\n');
 */
export async function answerChannelChallenges(socket: Socket, opts: AnswerChannelOptions): Promise<void> {
  const attester = opts.attester ?? (opts.provider ? createChannelAttester({ provider: opts.provider }) : undefined);
  if (!attester) {
    throw new RatlsError('ERR_CHANNEL_UNSUPPORTED', 'channel', 'answerChannelChallenges needs an attester or provider');
  }
  const buffer = new ChannelFrameBuffer(opts.maxFrameBytes ?? DEFAULT_MAX_CHANNEL_FRAME_BYTES);
  const deadline = Date.now() + (opts.timeoutMs ?? 5_000);
  const source = opts.source ?? socket.remoteAddress ?? '';
  const hello = encodeChannelFrame({ type: 'hello' });
  const role = opts.role ?? 'client';
  if (role === 'client') socket.write(hello);
  const m = await nextChannelMessage(socket, buffer, deadline, 'the peer channel hello');
  if (m === 'app' || m.type !== 'hello') {
    throw new RatlsError(
      m === 'app' ? 'ERR_CHANNEL_NO_BINDING' : 'ERR_CHANNEL_UNEXPECTED_FRAME',
      'channel',
      'the peer did not open the channel exchange with a hello',
    );
  }
  if (role === 'server') socket.write(hello);
  if (m.nonce) socket.write(encodeChannelFrame(await attester.answer(socket, m.nonce, source)));
  releaseChannelStream(socket, buffer);
}
