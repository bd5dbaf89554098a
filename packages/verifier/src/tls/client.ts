/**
 * Attested TLS clients. The server's certificate is judged by the appraiser in `secureConnect`;
 * the web-PKI checks are off (`rejectUnauthorized: false`, no `checkServerIdentity`) because the
 * attestation replaces them. Until the decision the socket is gated both ways:
 * - writes: the socket's `_write`/`_writev`/`_final` hold every chunk (and the FIN) until accept,
 *   so `socket.write()` right after `connect()` cannot leak to an unverified server;
 * - reads: chunks the server sends early are held (bounded) and replayed after accept, so no
 *   `data` listener sees bytes from an unverified server.
 * On accept the socket emits `attested` (and `socket.attestation` is set); on reject it is
 * destroyed with an `AttestationRejectedError`.
 */
import tls from 'node:tls';
import {
  CHANNEL_REFUSAL_REASON,
  ChannelFrameBuffer,
  type ChannelMessage,
  DEFAULT_MAX_CHANNEL_FRAME_BYTES,
  RatlsError,
  readChannelFrame,
  startsChannelFrame,
  toRatlsError,
} from '@ratls/evidence';
import { runChannelExchange } from '../channel/exchange.js';
import { type ChannelOptions, DEFAULT_CHANNEL_TIMEOUT_MS } from '../channel/options.js';
import { channelVerify } from '../channel/verify.js';
import { recordPreReject, runAppraisal, toAttestation } from '../decide/appraise.js';
import { AttestationRefusedError, AttestationRejectedError, TLS_ERRORS } from '../decide/errors.js';
import { type AppraiserOptions, resolveAppraiser } from '../decide/peer-verifier.js';
import type { Attestation, PeerAppraiser, PeerDecision } from '../decide/types.js';
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from './server.js';

/** Bounds and freshness for one client connection. */
export interface ClientAttestationLimits {
  /** From connect to decision (default 10 s). */
  timeoutMs?: number;
  /** Bytes of early server data held before the decision (default 64 KiB); more rejects. */
  maxEarlyDataBytes?: number;
  /** Freshness: the nonce the server's evidence must carry. */
  expectedNonce?: Uint8Array;
  clock?: () => number;
  /**
   * Channel-bound fresh attestation: with this set the client speaks the channel protocol (it
   * challenges the server when the policy says `freshness: channel` or `require` is set, and answers
   * the server's challenge with `attester`). No TLS session is reused in this mode.
   */
  channel?: ChannelOptions;
}

/**
 * A ready appraiser (`{ verifier }`, whose caches then outlive the connection) or the options to
 * build one per call, plus the connection's bounds.
 */
export type ClientAttestationOptions = AppraiserOptions & ClientAttestationLimits;

export type AttestedConnectionOptions = tls.ConnectionOptions & { attestation: ClientAttestationOptions };

/** A client TLS socket; `attestation` is set once `attested` has been emitted. */
export type AttestedClientSocket = tls.TLSSocket & { attestation?: Attestation };

const DEFAULT_MAX_EARLY_DATA = 64 * 1024;
/**
 * After this client accepts the server, a reset or close before any byte from the server within
 * this window is reported as the server refusing this client's attestation (an attested server
 * decides right after the handshake and closes a refused client then).
 */
export const REFUSAL_WINDOW_MS = 5_000;
/**
 * An explicit refusal: `HTTP/1.1 403` with `x-ratls-refusal: <reason code>` in the first bytes.
 * Status line and field name are case-insensitive (RFC 9110 §5.1); the value is taken whole and
 * must match the channel frame's CHANNEL_REFUSAL_REASON exactly, the one pattern a refusal reason
 * has (the gateway sends nothing else), or the 403 is an ordinary answer, passed on untouched.
 */
const REFUSAL_RE = /^HTTP\/1\.[01] 403 [^\r\n]*\r\n(?:[^\r\n]*\r\n)*?x-ratls-refusal: ?([^\r\n]*)\r\n/i;
const REFUSAL_SCAN_BYTES = 1024;

/**
 * The reason of a channel refusal frame at the start of `head` (a server with
 * `refusalResponse: channelRefusalResponse` sends one to a client it refused, channel-speaking or
 * not); undefined for anything else, including a frame cut short.
 */
function channelRefusalIn(head: Uint8Array): string | undefined {
  if (startsChannelFrame(head) !== 'yes') return undefined;
  try {
    const r = readChannelFrame(head);
    return r !== 'more' && r.message.type === 'refusal' ? r.message.reason : undefined;
  } catch {
    return undefined;
  }
}

type WriteCb = (error?: Error | null) => void;
type WritevChunks = Array<{ chunk: unknown; encoding: BufferEncoding }>;

/**
 * Like `tls.connect`, but the server must present an RA-TLS certificate the appraiser accepts.
 * `cb` runs on `attested`, not on `secureConnect`. Writes made before then are held, never sent.
 * @example
 * const s = connect({ host: '127.0.0.1', port, attestation: { verifier } }, () => console.log(s.attestation));
 * s.write('ping'); // held until the server is accepted
 * s.on('error', (e) => console.error(e.code));
 */
export function connect(options: AttestedConnectionOptions, cb?: () => void): AttestedClientSocket {
  const { attestation, ...given } = options;
  // Channel mode never resumes (draft-fossati-seat-expat): no session is offered.
  const { session: _session, ...withoutSession } = given;
  const tlsOptions = attestation.channel ? withoutSession : given;
  const socket = tls.connect({
    ...tlsOptions,
    rejectUnauthorized: false,
    checkServerIdentity: () => undefined,
  }) as AttestedClientSocket;
  gateClientSocket(socket, resolveAppraiser(attestation), attestation);
  if (cb) socket.once('attested', cb);
  return socket;
}

/**
 * Resolves with the socket once the server is accepted; rejects with the reason otherwise.
 * @example const socket = await connectAttested({ host, port, attestation: { verifier } })
 */
export function connectAttested(
  options: AttestedConnectionOptions,
): Promise<AttestedClientSocket & { attestation: Attestation }> {
  return new Promise((resolve, reject) => {
    const socket = connect(options);
    const onError = (e: Error) => reject(e);
    const onClose = () =>
      reject(
        new RatlsError(TLS_ERRORS.CLOSED_BEFORE_DECISION, 'tls', 'connection closed before the attestation decision'),
      );
    socket.once('error', onError);
    socket.once('close', onClose);
    socket.once('attested', () => {
      socket.off('error', onError);
      socket.off('close', onClose);
      resolve(socket as AttestedClientSocket & { attestation: Attestation });
    });
  });
}

/** Installs the write/read gate and the decision on a client TLS socket that has not connected yet. */
export function gateClientSocket(
  socket: AttestedClientSocket,
  appraiser: PeerAppraiser,
  opts: ClientAttestationLimits,
): void {
  const clock = opts.clock ?? Date.now;
  const maxEarly = opts.maxEarlyDataBytes ?? DEFAULT_MAX_EARLY_DATA;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  let state: 'pending' | 'accepted' | 'rejected' = 'pending';
  const heldWrites: Array<() => void> = [];
  const heldCallbacks: WriteCb[] = [];
  const heldReads: Array<[unknown, BufferEncoding | undefined]> = [];
  let heldBytes = 0;
  const ac = new AbortController();

  const origWrite = socket._write;
  const origWritev = socket._writev;
  const origFinal = socket._final;
  const origPush = socket.push;

  socket._write = function gatedWrite(chunk: unknown, encoding: BufferEncoding, cb: WriteCb): void {
    if (state === 'accepted') {
      origWrite.call(socket, chunk, encoding, cb);
      return;
    }
    if (state === 'rejected') {
      cb(rejectedError());
      return;
    }
    heldCallbacks.push(cb);
    heldWrites.push(() => origWrite.call(socket, chunk, encoding, cb));
  };
  if (origWritev) {
    socket._writev = function gatedWritev(chunks: WritevChunks, cb: WriteCb): void {
      if (state === 'accepted') {
        origWritev.call(socket, chunks, cb);
        return;
      }
      if (state === 'rejected') {
        cb(rejectedError());
        return;
      }
      heldCallbacks.push(cb);
      heldWrites.push(() => origWritev.call(socket, chunks, cb));
    };
  }
  if (origFinal) {
    socket._final = function gatedFinal(cb: WriteCb): void {
      if (state === 'accepted') {
        origFinal.call(socket, cb);
        return;
      }
      if (state === 'rejected') {
        cb(rejectedError());
        return;
      }
      heldCallbacks.push(cb);
      heldWrites.push(() => origFinal.call(socket, cb));
    };
  }
  // Channel phase: the server's frames are read here, never held for the application.
  let channelBuf: ChannelFrameBuffer | undefined;
  let channelEnded = false;
  let wake: (() => void) | undefined;
  const maxFrame = opts.channel?.maxFrameBytes ?? DEFAULT_MAX_CHANNEL_FRAME_BYTES;

  socket.push = function gatedPush(chunk: unknown, encoding?: BufferEncoding): boolean {
    if (state === 'accepted') return origPush.call(socket, chunk, encoding);
    if (state === 'rejected') return false;
    if (channelBuf) {
      if (chunk === null) channelEnded = true;
      else if (chunk instanceof Uint8Array) channelBuf.push(chunk);
      if (channelBuf.size > 2 * maxFrame) {
        reject(
          new RatlsError(
            TLS_ERRORS.EARLY_DATA_OVERFLOW,
            'tls',
            `server sent more than ${2 * maxFrame} bytes during the channel exchange`,
          ),
        );
        return false;
      }
      wake?.();
      return true;
    }
    if (chunk !== null && typeof chunk === 'object' && 'byteLength' in chunk) {
      heldBytes += (chunk as Uint8Array).byteLength;
    }
    heldReads.push([chunk, encoding]);
    if (heldBytes > maxEarly) {
      reject(
        new RatlsError(
          TLS_ERRORS.EARLY_DATA_OVERFLOW,
          'tls',
          `server sent more than ${maxEarly} bytes before the attestation decision`,
        ),
      );
    }
    // false asks the stream to stop reading from the wire until someone consumes the stream.
    return false;
  };

  function rejectedError(): RatlsError {
    return new RatlsError(TLS_ERRORS.PEER_REJECTED, 'tls', 'write refused: the server was not accepted');
  }

  const timer = setTimeout(
    () =>
      reject(
        new RatlsError(
          TLS_ERRORS.HANDSHAKE_TIMEOUT,
          'tls',
          `no attestation decision within ${timeoutMs} ms of connect`,
        ),
      ),
    timeoutMs,
  );

  /** Puts the stream's own methods back; held writes go out in order, `attested` fires, then held reads. */
  function release(): void {
    socket._write = origWrite;
    if (origWritev) socket._writev = origWritev;
    if (origFinal) socket._final = origFinal;
    watchRefusal();
    for (const w of heldWrites.splice(0)) w();
    socket.emit('attested', socket.attestation);
    for (const [chunk, enc] of heldReads.splice(0)) socket.push(chunk, enc);
  }

  /**
   * The server decides on this client after the handshake, so its refusal comes after ours: an
   * explicit 403 carrying `x-ratls-refusal`, or a reset/close before any byte. Either becomes an
   * `AttestationRefusedError` (instead of a bare ECONNRESET or an ordinary-looking 403). Only the
   * first bytes are looked at; after them, or after REFUSAL_WINDOW_MS, the socket is untouched.
   */
  function watchRefusal(): void {
    const acceptedAt = Date.now();
    // Bytes already on the wire by now are the channel exchange's frames, not a request: a server
    // that ends right after it (a handler that only closes) is not refusing this client.
    const exchangeBytes = socket.bytesWritten;
    let seen = 0;
    let done = false;
    const stop = () => {
      done = true;
      socket.push = origPush;
    };
    socket.push = function refusalPush(chunk: unknown, encoding?: BufferEncoding): boolean {
      if (done) return origPush.call(socket, chunk, encoding);
      if (chunk === null) {
        // A clean close before any byte, although this client had sent something (a request): the
        // refusal without words. A client that sent nothing keeps its plain end. Deferred, so a
        // caller awaiting `connectAttested` has attached its 'error' listener by then.
        if (seen === 0 && socket.bytesWritten > exchangeBytes && Date.now() - acceptedAt <= REFUSAL_WINDOW_MS) {
          stop();
          setImmediate(() => socket.destroy(new AttestationRefusedError(undefined)));
          return false;
        }
        stop();
        return origPush.call(socket, chunk, encoding);
      }
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, encoding) : (chunk as Uint8Array);
      if (seen === 0) {
        const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.byteLength, REFUSAL_SCAN_BYTES));
        const told = REFUSAL_RE.exec(head.toString('latin1'))?.[1];
        const reason = told !== undefined && CHANNEL_REFUSAL_REASON.test(told) ? told : channelRefusalIn(head);
        if (reason) {
          done = true;
          // Nothing after the refusal reaches the stream, not even the end that often comes in
          // the same read: a clean end first would close the socket before the error is raised.
          socket.push = () => false;
          const err = new AttestationRefusedError(reason);
          setImmediate(() => socket.destroy(err));
          return false;
        }
      }
      seen += bytes.byteLength;
      stop();
      return origPush.call(socket, chunk, encoding);
    };
    type Emit = (event: string | symbol, ...args: unknown[]) => boolean;
    const emit = socket.emit as Emit;
    const refusalEmit: Emit = (event, ...args) => {
      const e = args[0] as NodeJS.ErrnoException | undefined;
      if (
        event === 'error' &&
        !done &&
        seen === 0 &&
        (e?.code === 'ECONNRESET' || e?.code === 'EPIPE') &&
        Date.now() - acceptedAt <= REFUSAL_WINDOW_MS
      ) {
        stop();
        socket.emit = emit as typeof socket.emit;
        return emit.call(socket, 'error', new AttestationRefusedError(undefined, { cause: e }));
      }
      return emit.call(socket, event, ...args);
    };
    socket.emit = refusalEmit as typeof socket.emit;
    const t = setTimeout(() => {
      if (!done) stop();
      socket.emit = emit as typeof socket.emit;
    }, REFUSAL_WINDOW_MS);
    t.unref();
  }

  function reject(err: RatlsError<string>): void {
    if (state !== 'pending') return;
    state = 'rejected';
    clearTimeout(timer);
    // An appraisal in flight records this reject itself when its signal aborts.
    ac.abort(err);
    heldReads.length = 0;
    heldWrites.length = 0;
    socket.destroy(err);
    for (const cb of heldCallbacks.splice(0)) cb(err);
    // A channel read in progress ends now, not at its deadline (the server closed on us).
    wake?.();
  }

  socket.once('close', () =>
    reject(
      new RatlsError(TLS_ERRORS.CLOSED_BEFORE_DECISION, 'tls', 'connection closed before the attestation decision'),
    ),
  );
  const channelMs = opts.channel?.timeoutMs ?? DEFAULT_CHANNEL_TIMEOUT_MS;
  const peerOf = () => ({ ip: socket.remoteAddress, port: socket.remotePort, role: 'server' as const });

  /** Next server frame from the channel buffer, bounded by `deadline`. */
  function nextFrame(deadline: number, what: string): Promise<ChannelMessage | 'app'> {
    return new Promise((resolve, rejectNext) => {
      const t = setTimeout(
        () => {
          wake = undefined;
          rejectNext(new RatlsError('ERR_CHANNEL_TIMEOUT', 'channel', `no ${what} within ${channelMs} ms`));
        },
        Math.max(0, deadline - Date.now()),
      );
      const check = (): void => {
        try {
          const m = channelBuf?.next() ?? 'more';
          if (m !== 'more') {
            clearTimeout(t);
            wake = undefined;
            resolve(m);
          } else if (channelEnded || state !== 'pending') {
            clearTimeout(t);
            wake = undefined;
            rejectNext(
              new RatlsError(
                TLS_ERRORS.CLOSED_BEFORE_DECISION,
                'channel',
                `connection ended while waiting for ${what}`,
              ),
            );
          }
        } catch (e) {
          clearTimeout(t);
          wake = undefined;
          rejectNext(e);
        }
      };
      wake = check;
      check();
    });
  }

  /** The client's side of the channel exchange (../channel/exchange.ts) after an accepted certificate. */
  async function channelPhase(d: PeerDecision, peerPublicKey: Uint8Array): Promise<PeerDecision> {
    const want = d.freshness === 'channel';
    const buffer = new ChannelFrameBuffer(maxFrame);
    channelBuf = buffer;
    // Frames already held (the server wrote before our decision) are the channel's now.
    // So is an end of stream that came while the certificate was appraised: a server that closed
    // on us must end the exchange now, not at its deadline.
    for (const [chunk] of heldReads.splice(0)) {
      if (chunk === null) channelEnded = true;
      else if (chunk instanceof Uint8Array) buffer.push(chunk);
    }
    heldBytes = 0;
    // The held push answered false, which stopped reading from the wire; the channel reads again.
    socket.read(0);
    try {
      if (want && socket.getProtocol() !== 'TLSv1.3') {
        throw new RatlsError(
          'ERR_CHANNEL_TLS_VERSION',
          'channel',
          `channel mode needs TLS 1.3; the server negotiated ${socket.getProtocol() ?? 'nothing'}`,
        );
      }
      if (want && socket.isSessionReused()) {
        throw new RatlsError('ERR_CHANNEL_RESUMED', 'channel', 'a resumed TLS session cannot carry fresh evidence');
      }
      // Each frame is a small write the peer answers; with Nagle on, a write behind an
      // unacknowledged one waits for the peer's delayed ACK (40 ms on Linux) — per frame, and
      // again for the first application write behind our last frame.
      if (want) socket.setNoDelay(true);
      const deadline = Date.now() + channelMs;
      const out = await runChannelExchange(
        socket,
        {
          next: (what) => nextFrame(deadline, what),
          // Beside the gate, straight to the TLS stream: one write in flight at a time (TLSWrap
          // allows no more), finished before any held application write is released.
          send: (bytes) =>
            new Promise<void>((resolve, rejectSend) =>
              origWrite.call(socket, Buffer.from(bytes), 'buffer' as BufferEncoding, (e?: Error | null) =>
                e ? rejectSend(e) : resolve(),
              ),
            ),
          moreFrames: () => buffer.startsFrame(),
        },
        {
          role: 'client',
          challenge: want,
          ...(opts.channel?.attester ? { attester: opts.channel.attester } : {}),
          source: socket.remoteAddress ?? '',
          verify: (answer, nonce) =>
            channelVerify(socket, answer, nonce, {
              appraiser,
              certificate: d,
              peerPublicKey,
              ctx: { at: clock(), peer: peerOf(), signal: ac.signal, freshness: 'channel' },
            }),
        },
      );
      channelBuf = undefined;
      const rest = buffer.take();
      if (rest.byteLength > 0) heldReads.push([Buffer.from(rest), undefined]);
      return out.kind === 'done' && out.decision ? out.decision : d;
    } catch (e) {
      channelBuf = undefined;
      // The server's refusal frame: it refused us (recorded like any failed attempt), and the
      // caller gets the refusal with its reason, not a rejection of the server.
      if (e instanceof AttestationRefusedError) refusedByServer = e;
      const err = toRatlsError(e, TLS_ERRORS.APPRAISER_FAILED, 'channel');
      const error = { code: err.code, message: err.message };
      if (want && state === 'pending') {
        recordPreReject(appraiser, error, { at: clock(), peer: peerOf(), freshness: 'channel' });
      }
      return { accept: false, error, freshness: want ? 'channel' : 'certificate' };
    }
  }

  let refusedByServer: AttestationRefusedError | undefined;
  socket.once('secureConnect', () => {
    const x = socket.getPeerX509Certificate();
    if (!x) {
      reject(new RatlsError(TLS_ERRORS.NO_PEER_CERTIFICATE, 'tls', 'server presented no certificate'));
      return;
    }
    void runAppraisal(appraiser, new Uint8Array(x.raw), {
      at: clock(),
      peer: peerOf(),
      signal: ac.signal,
      // The key OpenSSL decoded from these bytes: the self-signature check may use it (PeerContext).
      peerPublicKey: () => x.publicKey,
      ...(opts.expectedNonce ? { expectedNonce: opts.expectedNonce } : {}),
      ...(opts.channel?.require ? { freshness: 'channel' as const } : {}),
    })
      .then((d) =>
        d.accept && (d.freshness === 'channel' || opts.channel)
          ? channelPhase(d, new Uint8Array(x.publicKey.export({ type: 'spki', format: 'der' })))
          : d,
      )
      .then((d) => {
        if (state !== 'pending') return;
        if (!d.accept) {
          reject(refusedByServer ?? AttestationRejectedError.fromDecision(d));
          return;
        }
        clearTimeout(timer);
        state = 'accepted';
        heldCallbacks.length = 0;
        Object.defineProperty(socket, 'attestation', { value: toAttestation(d), enumerable: true });
        release();
      });
  });
}
