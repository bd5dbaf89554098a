/**
 * The channel exchange after the TLS 1.3 handshake and before any application byte. Each side
 * that speaks it sends one `hello` (carrying its challenge nonce when it wants fresh evidence of
 * the peer), answers the peer's challenge, and reads the peer's answer to its own:
 *
 *   client → hello{nonce_c?}
 *   server → hello{nonce_s?}, answer(nonce_c)?         (the server's certificate was checked in TLS)
 *   client → answer(nonce_s)?                          (only after the server's answer was accepted)
 *
 * The client speaks first so that a listener can tell a channel-speaking client from a plain
 * TLS client by its first byte. The client answers last: it never makes a quote for a server it
 * has not authenticated (certificate and, when it asked, fresh evidence), and a server makes one
 * only for a client whose certificate it accepted, behind the attester's rate limit.
 */
import { randomBytes } from 'node:crypto';
import {
  CHANNEL_NONCE_BYTES,
  type ChannelAnswer,
  type ChannelAttester,
  type ChannelMessage,
  type ChannelSocket,
  encodeChannelFrame,
  RatlsError,
} from '@ratls/evidence';
import { AttestationRefusedError } from '../decide/errors.js';
import type { PeerDecision } from '../decide/types.js';

/** How the exchange reads and writes: the server reads in paused mode, the client through its gate. */
export interface ChannelIo {
  next(what: string): Promise<ChannelMessage | 'app'>;
  /** Resolves once the bytes are handed to TLS (the client writes beside its gate, one write at a time). */
  send(bytes: Uint8Array): Promise<void> | void;
  /** True when bytes received so far (read from the transport now) begin another frame (a second answer). */
  moreFrames(): boolean;
}

export interface ChannelExchangeOptions {
  role: 'client' | 'server';
  /** We want fresh evidence of the peer (our policy says channel). */
  challenge: boolean;
  /** Answers the peer's challenge; without one, a challenge from the peer fails the exchange. */
  attester?: ChannelAttester;
  /** The peer's source, for the attester's per-source rate limit. */
  source: string;
  /** Appraises the peer's answer to our nonce (see `channelVerify`). */
  verify(answer: ChannelAnswer, nonce: Uint8Array): Promise<PeerDecision>;
}

/** `legacy`: the peer sent application data first and we did not challenge (server only). */
export type ChannelOutcome = { kind: 'legacy' } | { kind: 'done'; decision?: PeerDecision };

function unexpected(message: string): RatlsError {
  return new RatlsError('ERR_CHANNEL_UNEXPECTED_FRAME', 'channel', message);
}

function noBinding(message: string): RatlsError {
  return new RatlsError('ERR_CHANNEL_NO_BINDING', 'channel', message);
}

async function answerWith(
  attester: ChannelAttester | undefined,
  socket: ChannelSocket,
  nonce: Uint8Array,
  source: string,
): Promise<Uint8Array> {
  if (!attester) {
    throw new RatlsError(
      'ERR_CHANNEL_UNSUPPORTED',
      'channel',
      'the peer asked for channel-bound evidence and this side has no quote provider (channel.attester)',
    );
  }
  return encodeChannelFrame(await attester.answer(socket, nonce, source));
}

/**
 * A server's refusal frame, read by the client in place of the hello or answer it waited for: the
 * server refused this client and said why. A client's refusal frame is only an unexpected frame.
 */
function refusedBy(o: ChannelExchangeOptions, m: ChannelMessage): void {
  if (m.type === 'refusal' && o.role === 'client') throw new AttestationRefusedError(m.reason);
}

async function readAnswer(io: ChannelIo, o: ChannelExchangeOptions, nonce: Uint8Array): Promise<PeerDecision> {
  const m = await io.next('the answer to our channel challenge');
  if (m === 'app') throw noBinding('the peer sent application data instead of answering the channel challenge');
  refusedBy(o, m);
  if (m.type !== 'answer') throw unexpected(`expected the answer to our challenge, got a ${m.type}`);
  // One answer per challenge: a second frame already behind it refuses before any appraisal.
  if (io.moreFrames()) throw unexpected('the peer sent a second channel frame after its answer');
  const d = await o.verify(m, nonce);
  // …and so does one that arrived while the answer was appraised (a second answer split across
  // segments: its first bytes came after the first answer was read). After the decision, bytes
  // are the application's.
  if (d.accept && io.moreFrames()) throw unexpected('the peer sent a second channel frame after its answer');
  return d;
}

/**
 * Runs one side of the exchange. Resolves with the decision on the peer's fresh evidence (when we
 * challenged) or `legacy`; rejects with a RatlsError (ERR_CHANNEL_*) on any refusal.
 * @example const out = await runChannelExchange(socket, io, { role: 'server', challenge: true, source, verify })
 */
export async function runChannelExchange(
  socket: ChannelSocket,
  io: ChannelIo,
  o: ChannelExchangeOptions,
): Promise<ChannelOutcome> {
  const nonce = o.challenge ? new Uint8Array(randomBytes(CHANNEL_NONCE_BYTES)) : undefined;
  const hello = encodeChannelFrame(nonce ? { type: 'hello', nonce } : { type: 'hello' });
  let decision: PeerDecision | undefined;
  if (o.role === 'client') {
    await io.send(hello);
    const peer = await io.next('the server channel hello');
    if (peer === 'app') throw noBinding('the server sent application data instead of its channel hello');
    refusedBy(o, peer);
    if (peer.type !== 'hello') throw unexpected(`expected the server hello, got a ${peer.type}`);
    if (nonce) {
      decision = await readAnswer(io, o, nonce);
      if (!decision.accept) return { kind: 'done', decision };
    }
    if (io.moreFrames()) throw unexpected('the server sent a channel frame after its answer');
    if (peer.nonce) await io.send(await answerWith(o.attester, socket, peer.nonce, o.source));
    return decision ? { kind: 'done', decision } : { kind: 'done' };
  }
  const first = await io.next('the client channel hello');
  if (first === 'app') {
    if (nonce) throw noBinding('the client sent application data before any channel exchange (a plain TLS client)');
    return { kind: 'legacy' };
  }
  if (first.type !== 'hello') throw unexpected(`expected the client hello, got a ${first.type}`);
  const answer = first.nonce ? await answerWith(o.attester, socket, first.nonce, o.source) : undefined;
  // One write for both frames: one TLS record, one segment, no wait between them.
  await io.send(answer ? Buffer.concat([hello, answer]) : hello);
  if (nonce) {
    decision = await readAnswer(io, o, nonce);
  } else if (io.moreFrames()) {
    throw unexpected('the client sent a channel frame nobody asked for');
  }
  return decision ? { kind: 'done', decision } : { kind: 'done' };
}
