/**
 * Attested TLS servers. Node's TLS has no asynchronous verify callback, so the server asks for a
 * client certificate without judging it (`requestCert: true, rejectUnauthorized: false`), then
 * holds the finished TLS socket back from the application until the appraiser has decided. The
 * hold is done by intercepting the server's own `secureConnection` event: every application
 * listener (including an HTTPS server's HTTP parser) only ever sees accepted sockets, and bytes a
 * client sends right after its Finished stay in the unread socket buffer and die with it.
 *
 * Before TLS, a plain `net.Server` accepts (./acceptor.ts): a connection is admitted only while
 * fewer than `maxPendingPerSource` from its source (./source-group.ts) and `maxConcurrentHandshakes`
 * in all are waiting for a decision, and must send a TLS handshake record header within
 * `clientHelloTimeoutMs`; only then does the TLS server see it. The returned server is still the
 * `tls.Server` (or `https.Server`): `listen`, `close` and `address` act on the front listener, and
 * its `connection` event fires when the socket is handed to TLS.
 */
import type net from 'node:net';
import tls from 'node:tls';
import {
  CHANNEL_REFUSAL_REASON,
  ChannelFrameBuffer,
  DEFAULT_MAX_CHANNEL_FRAME_BYTES,
  encodeChannelFrame,
  nextChannelMessage,
  RatlsError,
  releaseChannelStream,
  toRatlsError,
} from '@ratls/evidence';
import { runChannelExchange } from '../channel/exchange.js';
import { type ChannelOptions, DEFAULT_CHANNEL_TIMEOUT_MS } from '../channel/options.js';
import { channelVerify } from '../channel/verify.js';
import { recordPreReject, runAppraisal, runCachedAppraisal, toAttestation } from '../decide/appraise.js';
import { AttestationRejectedError, TLS_ERRORS } from '../decide/errors.js';
import { type AppraiserOptions, resolveAppraiser } from '../decide/peer-verifier.js';
import type { Attestation, PeerAppraiser, PeerDecision } from '../decide/types.js';
import { frontListener, readPreTls } from './acceptor.js';
import { closeAtExpiry } from './expiry.js';
import type { DeclaredSource, PreTlsReader } from './pre-tls.js';
import { SourceRateLimiter, sourceGroup } from './source-group.js';

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_CONCURRENT_HANDSHAKES = 512;
/** A client sends its ClientHello at once; 3 s leaves room for a slow link, not for an idle socket. */
export const DEFAULT_CLIENT_HELLO_TIMEOUT_MS = 3_000;
export const DEFAULT_MAX_PENDING_PER_SOURCE = 32;

/** Connection-level bounds shared by every attested listener. */
export interface AttestationLimits {
  /** From TCP accept to decision; a slower connection is dropped (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Connections allowed to wait for a decision at once; more are closed on accept (default 512). */
  maxConcurrentHandshakes?: number;
  /** From TCP accept to a complete TLS record header (after any pre-TLS readers); default 3 s. */
  clientHelloTimeoutMs?: number;
  /**
   * Connections from one source (IPv4 address, IPv6 /64; see `sourceGroup`) allowed to wait for a
   * decision at once; more are closed on accept (default 32).
   */
  maxPendingPerSource?: number;
  /**
   * Handshakes one source (see `sourceGroup`) may start per second, with a burst of as many;
   * more are closed on accept, before any TLS work, as `ERR_TLS_SOURCE_RATE_LIMITED`. Unset: no
   * rate bound (the pending caps above still hold).
   */
  maxHandshakesPerSecondPerSource?: number;
  /** What precedes TLS on this listener (a PROXY v2 header, an SSLRequest); read in order. */
  preTlsReaders?: readonly PreTlsReader[];
  /** Name of this listener in audit events. */
  listener?: string;
  /** Decision clock, Unix milliseconds (default Date.now). */
  clock?: () => number;
  /**
   * Channel-bound fresh attestation (see docs/concepts.md): with this set, the listener speaks the
   * channel protocol with clients that do, and `require` (or the policy's `freshness: channel`)
   * makes it refuse any client that does not answer its challenge with bound fresh evidence.
   */
  channel?: ChannelOptions;
  /**
   * Tells a refused client why, over the finished handshake, before the close: returns the bytes
   * to send for a refusal reason (a gateway's `refusal: http-403` sends a 403 naming only the
   * reason code). Undefined (default): the socket is closed with nothing sent. A channel-mode
   * refusal message can use the same seam. The server never reads the peer's data for this.
   */
  refusalResponse?: (reason: string) => Uint8Array | undefined;
}

/** How long a refused socket may take to read the refusal and close before it is destroyed. */
export const REFUSAL_LINGER_MS = 2_000;

/** How a server gets its appraiser: a ready one (`{ verifier }`) or the options to build one, plus bounds. */
export type AttestationOptions = AppraiserOptions & AttestationLimits;

/** The connection bounds named in attestation options (the rest configures the appraiser). */
export function limitsOf(o: AttestationLimits): AttestationLimits {
  const l: AttestationLimits = {};
  if (o.handshakeTimeoutMs !== undefined) l.handshakeTimeoutMs = o.handshakeTimeoutMs;
  if (o.maxConcurrentHandshakes !== undefined) l.maxConcurrentHandshakes = o.maxConcurrentHandshakes;
  if (o.clientHelloTimeoutMs !== undefined) l.clientHelloTimeoutMs = o.clientHelloTimeoutMs;
  if (o.maxPendingPerSource !== undefined) l.maxPendingPerSource = o.maxPendingPerSource;
  if (o.maxHandshakesPerSecondPerSource !== undefined)
    l.maxHandshakesPerSecondPerSource = o.maxHandshakesPerSecondPerSource;
  if (o.preTlsReaders !== undefined) l.preTlsReaders = o.preTlsReaders;
  if (o.listener !== undefined) l.listener = o.listener;
  if (o.clock !== undefined) l.clock = o.clock;
  if (o.channel !== undefined) l.channel = o.channel;
  if (o.refusalResponse !== undefined) l.refusalResponse = o.refusalResponse;
  return l;
}

/** A TLS socket the appraiser accepted. */
export type AttestedSocket = tls.TLSSocket & { attestation: Attestation };

export type AttestedServerOptions = tls.TlsOptions & { attestation: AttestationOptions };

interface ConnState {
  raw: net.Socket;
  tls?: tls.TLSSocket;
  peer: { ip?: string; port?: number; role: 'client' };
  /** The listener's end of the TCP connection (audit `destination.*`). */
  local: { ip?: string; port?: number };
  /** The per-source counter this connection holds a slot in (none yet while its source is to be declared). */
  group: string | undefined;
  decided: boolean;
  appraising: boolean;
  timer?: NodeJS.Timeout;
  /** Made only when a decision has to wait (an appraisal or channel exchange in flight), to interrupt it. */
  ac?: AbortController;
}

type Emit = (event: string | symbol, ...args: unknown[]) => boolean;

/** SubjectPublicKeyInfo DER of a peer certificate as TLS saw it. */
const spkiOf = (x: { publicKey: { export(o: { type: 'spki'; format: 'der' }): Buffer } }): Uint8Array =>
  new Uint8Array(x.publicKey.export({ type: 'spki', format: 'der' }));

/** The certificate DER as a view of the Buffer Node made for it (`X509Certificate.raw` is a fresh copy each read). */
const bytesOf = (raw: Buffer): Uint8Array => new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);

const portOf = (port: number | undefined): { port?: number } => (port !== undefined ? { port } : {});

/**
 * The client address of each accepted socket as the acceptor knew it: the source a pre-TLS reader
 * declared (a PROXY v2 header from a configured balancer) or else the TCP peer. Kept beside the
 * socket because `remoteAddress` is read-only and names the balancer.
 */
const clientAddresses = new WeakMap<object, { ip?: string; port?: number }>();

/**
 * The real client address of an accepted socket: the declared source when a balancer relayed it,
 * else the TCP peer. Use it for audit, forwarding headers and per-client accounting.
 * @example
 * server.on('secureConnection', (s) => console.log(clientAddressOf(s).ip)); // '203.0.113.9' behind HAProxy
 */
export function clientAddressOf(socket: net.Socket): { ip?: string; port?: number } {
  return (
    clientAddresses.get(socket) ?? {
      ...(socket.remoteAddress ? { ip: socket.remoteAddress } : {}),
      ...portOf(socket.remotePort),
    }
  );
}

/** The listener's end of each accepted socket, as the acceptor read it on accept (one `getsockname`). */
const localAddresses = new WeakMap<object, Readonly<{ ip?: string; port?: number }>>();

/**
 * The listener's end (address and port) of an accepted socket: what the acceptor read from the
 * TCP socket on accept, so the TLS socket does not ask the kernel again; for any other socket,
 * its own `localAddress` and `localPort`.
 * @example
 * server.on('secureConnection', (s) => console.log(localAddressOf(s))); // { ip: '127.0.0.1', port: 8443 }
 */
export function localAddressOf(socket: net.Socket): { ip?: string; port?: number } {
  return (
    localAddresses.get(socket) ?? {
      ...(socket.localAddress ? { ip: socket.localAddress } : {}),
      ...portOf(socket.localPort),
    }
  );
}

/**
 * The reason a refused client may be told: the policy's reason code; for a channel-exchange
 * failure its code in reason form (`channel_no_binding`, `channel_unsupported`, …: what the client
 * must change, nothing about this side's policy); else `verification_failed`.
 */
function refusalReason(d: {
  decision?: { accept: boolean; reasons?: Array<{ code: string }> };
  error?: { code: string };
}): string {
  const code = d.decision && !d.decision.accept ? d.decision.reasons?.[0]?.code : undefined;
  if (code && CHANNEL_REFUSAL_REASON.test(code)) return code;
  const channel = /^ERR_(CHANNEL_[A-Z0-9_]{1,56})$/.exec(d.error?.code ?? '')?.[1];
  return channel ? channel.toLowerCase() : 'verification_failed';
}

/**
 * A `refusalResponse` for channel-speaking clients: the refusal as a channel frame (reason code
 * only), which `connectAttested` turns into an `AttestationRefusedError` with that reason.
 * @example createServer({ ...tls, attestation: { verifier, channel: { attester }, refusalResponse: channelRefusalResponse } }, handler)
 */
export function channelRefusalResponse(reason: string): Uint8Array {
  return encodeChannelFrame({ type: 'refusal', reason: CHANNEL_REFUSAL_REASON.test(reason) ? reason : 'refused' });
}

/** The attestation of an accepted socket, or undefined for anything else. */
export function attestationOf(socket: unknown): Attestation | undefined {
  if (typeof socket !== 'object' || socket === null) return undefined;
  const a = (socket as { attestation?: unknown }).attestation;
  return typeof a === 'object' && a !== null ? (a as Attestation) : undefined;
}

/** The TLS options every attested server must run with, whatever the caller passed. */
export function attestedServerTlsOptions<T extends tls.TlsOptions>(options: T, limits: AttestationLimits): T {
  const timeout = limits.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  return {
    ...options,
    requestCert: true,
    rejectUnauthorized: false,
    handshakeTimeout: Math.min(options.handshakeTimeout ?? timeout, timeout),
  };
}

/**
 * Makes `server` (a tls.Server or https.Server created with `attestedServerTlsOptions`) accept
 * through the pre-TLS acceptor and decide on every client certificate before its
 * `secureConnection` listeners run. Accepted sockets get `socket.attestation` and are also emitted
 * as `attestedConnection`; rejected ones are destroyed and reported as `attestationRejected`
 * (error, peer). Call it before `server.listen`: from then on `listen`, `close` and `address` act
 * on the front `net.Server`.
 * @example
 * const server = tls.createServer(attestedServerTlsOptions({ key, cert }, {}));
 * attachAttestation(server, appraiser, { maxPendingPerSource: 8 });
 * server.listen(0, '127.0.0.1');
 */
export function attachAttestation(server: tls.Server, appraiser: PeerAppraiser, limits: AttestationLimits = {}): void {
  const timeoutMs = limits.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  const maxPending = limits.maxConcurrentHandshakes ?? DEFAULT_MAX_CONCURRENT_HANDSHAKES;
  const helloMs = limits.clientHelloTimeoutMs ?? DEFAULT_CLIENT_HELLO_TIMEOUT_MS;
  const maxPerSource = limits.maxPendingPerSource ?? DEFAULT_MAX_PENDING_PER_SOURCE;
  const readers = limits.preTlsReaders ?? [];
  const rate = limits.maxHandshakesPerSecondPerSource;
  const limiter = rate !== undefined ? new SourceRateLimiter({ perSecond: rate }) : undefined;
  const clock = limits.clock ?? Date.now;
  const listener = limits.listener;
  const states = new WeakMap<object, ConnState>();
  let pending = 0;
  /** Waiting connections per source group; entries at zero are deleted, so it is bounded by `pending`. */
  const perSource = new Map<string, number>();
  const emit = server.emit.bind(server) as Emit;

  const channel = limits.channel;
  const channelMs = channel?.timeoutMs ?? DEFAULT_CHANNEL_TIMEOUT_MS;
  const maxFrame = channel?.maxFrameBytes ?? DEFAULT_MAX_CHANNEL_FRAME_BYTES;
  const ctxOf = (st: ConnState) => ({
    at: clock(),
    peer: st.peer,
    local: st.local,
    ...(listener ? { listener } : {}),
    ...(channel?.require ? { freshness: 'channel' as const } : {}),
  });

  function report(err: RatlsError<string>, st: ConnState): void {
    if (server.listenerCount('attestationRejected') > 0) emit('attestationRejected', err, st.peer);
  }

  function take(group: string): void {
    perSource.set(group, (perSource.get(group) ?? 0) + 1);
  }
  function release(group: string | undefined): void {
    if (group === undefined) return;
    const n = (perSource.get(group) ?? 1) - 1;
    if (n <= 0) perSource.delete(group);
    else perSource.set(group, n);
  }

  /** Ends the wait for a decision exactly once; false if it had already ended. */
  function settle(st: ConnState): boolean {
    if (st.decided) return false;
    st.decided = true;
    pending--;
    release(st.group);
    if (st.timer) clearTimeout(st.timer);
    return true;
  }

  /** Rejects without a certificate appraisal result (or interrupts one in flight). */
  function rejectBeforeAppraisal(st: ConnState, code: string, message: string, refused = false): void {
    if (!settle(st)) return;
    const err = new RatlsError<string>(code, 'tls', message);
    // An appraisal in flight records this reject itself when its signal aborts: one event per attempt.
    if (st.appraising) st.ac?.abort(err);
    else recordPreReject(appraiser, { code, message }, ctxOf(st));
    st.tls?.destroy();
    // A refusal on its way out owns the TCP handle through the TLS socket, which it closes itself (bounded).
    if (!refused) st.raw.destroy();
    report(err, st);
  }

  /** Closes a socket refused on accept: it never held a slot, but its attempt is still one event. */
  function refuseOnAccept(raw: net.Socket, code: string, message: string): void {
    const peer = { ip: raw.remoteAddress, port: raw.remotePort, role: 'client' as const };
    recordPreReject(appraiser, { code, message }, { at: clock(), peer, ...(listener ? { listener } : {}) });
    raw.destroy();
    if (server.listenerCount('attestationRejected') > 0)
      emit('attestationRejected', new RatlsError<string>(code, 'tls', message), peer);
  }

  /** A source over its handshake rate: refused before TLS, so the flood costs a close, not a key exchange. */
  const rateLimited = (group: string) => limiter !== undefined && !limiter.take(group, clock());
  const rateMessage = (group: string) => `more than ${rate} handshakes per second from ${group}`;

  /** Admission on accept: the per-source bounds first (they name the flooding source), then the global one. */
  function admit(raw: net.Socket, declared = false): ConnState | undefined {
    const group = declared ? undefined : sourceGroup(raw.remoteAddress);
    if (group !== undefined && rateLimited(group)) {
      refuseOnAccept(raw, TLS_ERRORS.SOURCE_RATE_LIMITED, rateMessage(group));
      return undefined;
    }
    if (group !== undefined && (perSource.get(group) ?? 0) >= maxPerSource) {
      refuseOnAccept(
        raw,
        TLS_ERRORS.TOO_MANY_FROM_SOURCE,
        `${maxPerSource} connections from ${group} already waiting for an attestation decision`,
      );
      return undefined;
    }
    if (pending >= maxPending) {
      refuseOnAccept(
        raw,
        TLS_ERRORS.TOO_MANY_HANDSHAKES,
        `${maxPending} connections already waiting for an attestation decision`,
      );
      return undefined;
    }
    return newState(raw, group);
  }

  function newState(raw: net.Socket, group: string | undefined): ConnState {
    pending++;
    if (group !== undefined) take(group);
    const st: ConnState = {
      raw,
      peer: { ip: raw.remoteAddress, port: raw.remotePort, role: 'client' },
      local: { ip: raw.localAddress, port: raw.localPort },
      group,
      decided: false,
      appraising: false,
    };
    st.timer = setTimeout(
      () =>
        rejectBeforeAppraisal(
          st,
          TLS_ERRORS.HANDSHAKE_TIMEOUT,
          `no attestation decision within ${timeoutMs} ms of accept`,
        ),
      timeoutMs,
    );
    raw.once('close', () =>
      rejectBeforeAppraisal(
        st,
        TLS_ERRORS.CLOSED_BEFORE_DECISION,
        'client closed the connection before the attestation decision',
      ),
    );
    states.set(raw, st);
    return st;
  }

  /** A pre-TLS reader declared the real source: the slot moves to that source's count. */
  function moveSource(st: ConnState, source: DeclaredSource): boolean {
    const group = sourceGroup(source.ip);
    release(st.group);
    st.group = group;
    take(group);
    st.peer = { ip: source.ip, ...portOf(source.port), role: 'client' };
    if (rateLimited(group)) {
      rejectBeforeAppraisal(st, TLS_ERRORS.SOURCE_RATE_LIMITED, rateMessage(group));
      return false;
    }
    if ((perSource.get(group) ?? 0) > maxPerSource) {
      rejectBeforeAppraisal(
        st,
        TLS_ERRORS.TOO_MANY_FROM_SOURCE,
        `${maxPerSource} connections from ${group} already waiting for an attestation decision`,
      );
      return false;
    }
    return true;
  }

  frontListener(server, (raw) => {
    // Until TLS wraps it, nothing else listens for this socket's errors; a peer's reset must not
    // become an uncaught 'error'. Its 'close' follows and settles the connection.
    raw.on('error', () => undefined);
    const declared = readers.some((x) => x.declaresSource?.(raw.remoteAddress) === true);
    const st = admit(raw, declared);
    if (!st) return;
    const onSource = (source: DeclaredSource) => !st.decided && moveSource(st, source);
    readPreTls(raw, { readers, timeoutMs: helloMs, onSource }, (r) => {
      if (st.decided) return;
      if (r.kind === 'refuse') {
        rejectBeforeAppraisal(st, r.code, r.message);
        return;
      }
      // A peer expected to declare its source that did not (a balancer's health check) counts as itself.
      if (st.group === undefined && !moveSource(st, { ip: st.peer.ip ?? '', ...portOf(st.peer.port) })) return;
      // The state is registered: the TLS server's own 'connection' listener wraps the socket.
      emit('connection', raw);
    });
  });

  function stateOf(sock: tls.TLSSocket): ConnState | undefined {
    // Node keeps the accepted net.Socket as the TLS socket's `_parent` (stable since v0.11).
    const parent = (sock as unknown as { _parent?: unknown })._parent;
    return (typeof parent === 'object' && parent !== null ? states.get(parent) : undefined) ?? states.get(sock);
  }

  /**
   * Sends the refusal (when configured) on a handshake that finished, then lets the socket go:
   * what the peer sends is discarded unread (closing with unread data would reset the connection
   * and the client would lose the refusal), and the linger is bounded by REFUSAL_LINGER_MS.
   * The socket handed in is destroyed by the caller; this detaches a lingering copy of it first.
   */
  function refuse(sock: tls.TLSSocket, reason: string): boolean {
    const respond = limits.refusalResponse;
    if (!respond || sock.destroyed) return false;
    let bytes: Uint8Array | undefined;
    try {
      bytes = respond(reason);
    } catch {
      bytes = undefined;
    }
    if (!bytes || bytes.byteLength === 0) return false;
    const linger = sock;
    // The caller destroys `sock` next: swap its destroy for a graceful end this once.
    const destroy = linger.destroy.bind(linger);
    const t = setTimeout(() => destroy(), REFUSAL_LINGER_MS);
    t.unref();
    linger.destroy = ((err?: Error) => {
      linger.destroy = destroy;
      if (err) return destroy(err);
      linger.on('data', () => {});
      linger.once('close', () => clearTimeout(t));
      linger.once('error', () => destroy());
      linger.end(bytes);
      return linger;
    }) as typeof linger.destroy;
    return true;
  }

  function onSecure(sock: tls.TLSSocket): void {
    let st = stateOf(sock);
    if (!st) {
      // A socket injected without a 'connection' event: give it the same bounds.
      st = newState(sock, sourceGroup(sock.remoteAddress));
    }
    st.tls = sock;
    if (st.decided) {
      sock.destroy();
      return;
    }
    const x = sock.getPeerX509Certificate();
    if (!x) {
      const refused = !st.decided && refuse(sock, 'no_client_certificate');
      rejectBeforeAppraisal(
        st,
        TLS_ERRORS.NO_PEER_CERTIFICATE,
        'client presented no certificate; attested TLS requires one',
        refused,
      );
      return;
    }
    const der = bytesOf(x.raw);
    // A cached result decides at once (no signal, timer or promise: nothing can interrupt it);
    // anything else waits for the appraisal, which the deadline or a close can interrupt.
    const ctx = ctxOf(st);
    const now = runCachedAppraisal(appraiser, der, ctx);
    if (now !== undefined && !needsChannel(now)) {
      conclude(sock, st, now);
      return;
    }
    const state = st;
    const waited =
      now !== undefined
        ? channelPhase(sock, state, now, spkiOf(x))
        : runAppraisal(appraiser, der, {
            ...ctx,
            signal: signalOf(state, true),
            // The key OpenSSL decoded from these bytes: the self-signature check may use it (PeerContext).
            peerPublicKey: () => x.publicKey,
          }).then((d) => (needsChannel(d) ? channelPhase(sock, state, d, spkiOf(x)) : d));
    void waited.then((d) => conclude(sock, state, d));
  }

  /** An accept that the channel exchange must confirm (the policy's or this listener's freshness). */
  const needsChannel = (d: PeerDecision): boolean => d.accept && (d.freshness === 'channel' || channel !== undefined);

  /** The signal that interrupts a decision in flight; `appraising` marks that one is. */
  function signalOf(st: ConnState, appraising: boolean): AbortSignal {
    st.appraising = appraising;
    st.ac ??= new AbortController();
    return st.ac.signal;
  }

  /** Hands an accepted socket to the application, or refuses it; the decision's wait ends here. */
  function conclude(sock: tls.TLSSocket, state: ConnState, d: PeerDecision): void {
    if (!settle(state)) {
      sock.destroy();
      return;
    }
    if (!d.accept || sock.destroyed) {
      if (!d.accept) refuse(sock, refusalReason(d));
      sock.destroy();
      if (!d.accept) report(AttestationRejectedError.fromDecision(d), state);
      return;
    }
    clientAddresses.set(sock, {
      ...(state.peer.ip ? { ip: state.peer.ip } : {}),
      ...portOf(state.peer.port),
    });
    // A copy, frozen: every reader of the socket shares it, and the audit context keeps its own.
    localAddresses.set(sock, Object.freeze({ ...state.local }));
    Object.defineProperty(sock, 'attestation', { value: toAttestation(d), enumerable: true });
    // Accepted under a waiver or grace window: the connection ends when that does.
    if (d.decision?.accept && d.decision.validUntil !== undefined) closeAtExpiry(sock, d.decision.validUntil, clock);
    if (sock.destroyed) return;
    emit('secureConnection', sock);
    emit('attestedConnection', sock);
  }

  /**
   * After an accepted certificate: the channel exchange (../channel/exchange.ts). With a decision
   * that requires channel mode, anything but bound fresh evidence of the same enclave rejects and
   * the channel step records the one audit event; otherwise a client that does not speak the
   * protocol keeps its certificate-mode accept, and its first bytes go back to the stream.
   */
  async function channelPhase(
    sock: tls.TLSSocket,
    st: ConnState,
    d: PeerDecision,
    peerPublicKey: Uint8Array,
  ): Promise<PeerDecision> {
    const want = d.freshness === 'channel';
    st.appraising = false;
    const buffer = new ChannelFrameBuffer(maxFrame);
    const fail = (e: unknown): PeerDecision => {
      const err = toRatlsError(e, TLS_ERRORS.APPRAISER_FAILED, 'channel');
      const error = { code: err.code, message: err.message };
      // The certificate-mode accept was already recorded; a channel-mode one is recorded here.
      if (want && !st.decided) recordPreReject(appraiser, error, { ...ctxOf(st), freshness: 'channel' });
      return { accept: false, error, freshness: want ? 'channel' : 'certificate' };
    };
    try {
      if (want && sock.getProtocol() !== 'TLSv1.3') {
        throw new RatlsError(
          'ERR_CHANNEL_TLS_VERSION',
          'channel',
          `channel mode needs TLS 1.3; the client negotiated ${sock.getProtocol() ?? 'nothing'}`,
        );
      }
      if (want && sock.isSessionReused()) {
        throw new RatlsError('ERR_CHANNEL_RESUMED', 'channel', 'a resumed TLS session cannot carry fresh evidence');
      }
      // Each frame is a small write the peer answers; with Nagle on, a write behind an
      // unacknowledged one waits for the peer's delayed ACK (40 ms on Linux) — per frame, and
      // again for the first application write behind our last frame.
      if (want) sock.setNoDelay(true);
      const deadline = Date.now() + channelMs;
      const out = await runChannelExchange(
        sock,
        {
          next: (what) => nextChannelMessage(sock, buffer, deadline, what),
          send: (bytes) => {
            sock.write(bytes);
          },
          moreFrames: () => {
            // Bytes that came while we appraised wait in the paused stream: look at them too.
            for (let c = sock.read() as unknown; c !== null; c = sock.read() as unknown)
              if (c instanceof Uint8Array) buffer.push(c);
            return buffer.startsFrame();
          },
        },
        {
          role: 'server',
          challenge: want,
          ...(channel?.attester ? { attester: channel.attester } : {}),
          source: sourceGroup(st.peer.ip),
          verify: async (answer, nonce) => {
            const signal = signalOf(st, true);
            try {
              return await channelVerify(sock, answer, nonce, {
                appraiser,
                certificate: d,
                peerPublicKey,
                ctx: { ...ctxOf(st), signal, freshness: 'channel' },
              });
            } finally {
              st.appraising = false;
            }
          },
        },
      );
      releaseChannelStream(sock, buffer);
      if (out.kind === 'legacy' || !out.decision) return d;
      return out.decision;
    } catch (e) {
      // Certificate mode and a client that never speaks (a server-first protocol): keep the accept.
      if (!want && e instanceof RatlsError && e.code === 'ERR_CHANNEL_TIMEOUT' && buffer.size === 0) return d;
      return fail(e);
    }
  }

  server.emit = function attestedEmit(event: string | symbol, ...args: unknown[]): boolean {
    switch (event) {
      case 'connection': {
        // A socket emitted onto the TLS server directly (not through the front listener) is
        // admitted under the same caps, without pre-TLS reading.
        const raw = args[0] as net.Socket;
        if (states.has(raw)) return emit(event, ...args);
        if (!admit(raw)) return true;
        return emit(event, ...args);
      }
      case 'secureConnection':
        onSecure(args[0] as tls.TLSSocket);
        return true;
      case 'tlsClientError': {
        const [err, sock] = args as [NodeJS.ErrnoException, tls.TLSSocket];
        const st = stateOf(sock);
        if (st) {
          // The TLS socket owns the TCP handle now: destroying only the wrapped socket leaves it open.
          st.tls = sock;
          if (err.code === 'ERR_TLS_HANDSHAKE_TIMEOUT')
            rejectBeforeAppraisal(st, TLS_ERRORS.HANDSHAKE_TIMEOUT, err.message);
          else rejectBeforeAppraisal(st, TLS_ERRORS.HANDSHAKE_FAILED, `TLS handshake failed: ${err.message}`);
        }
        return emit(event, ...args);
      }
      case 'request':
      case 'checkContinue':
      case 'checkExpectation':
      case 'upgrade':
      case 'connect': {
        // HTTPS: requests only come from accepted sockets; anything else is refused, not served.
        const req = args[0] as { socket?: unknown; attestation?: Attestation };
        const a = attestationOf(req.socket);
        if (!a) {
          (req.socket as net.Socket | undefined)?.destroy();
          return true;
        }
        req.attestation = a;
        return emit(event, ...args);
      }
      default:
        return emit(event, ...args);
    }
  } as typeof server.emit;
}

/**
 * Like `tls.createServer`, but every client must present an RA-TLS certificate the appraiser
 * accepts before `handler` (a `secureConnection` listener) sees the socket.
 * @example
 * const server = createServer({ key, cert, attestation: { verifier } }, (socket) => {
 *   console.log(socket.attestation.identity); socket.end('hello');
 * });
 * server.listen(0, '127.0.0.1');
 */
export function createServer(options: AttestedServerOptions, handler?: (socket: AttestedSocket) => void): tls.Server {
  const { attestation, ...tlsOptions } = options;
  const limits = limitsOf(attestation);
  const server = tls.createServer(attestedServerTlsOptions(tlsOptions, limits));
  attachAttestation(server, resolveAppraiser(attestation), limits);
  if (handler) server.on('secureConnection', handler as (s: tls.TLSSocket) => void);
  return server;
}
