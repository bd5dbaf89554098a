/**
 * One attested listener: accept (the pre-TLS acceptor's bounds and Node's maxConnections),
 * appraise (H7's `createServer`, so no byte from a peer reaches a backend before the policy
 * decision; every attempt counted and audited once), hand off (HTTP reframing or TCP/UNIX
 * pass-through). It reads the state in force through `view()` only, on every connection and
 * every decision, so a reload applies to the next handshake without reaching in here.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type tls from 'node:tls';
import type { ChannelAttester } from '@ratls/evidence';
import type { AuditLog, ChannelOptions, PeerAppraiser, PeerDecision } from '@ratls/verifier';
import {
  attestationOf,
  channelRefusalResponse,
  clientAddressOf,
  createServer,
  evaluatePolicy,
  localAddressOf,
  TLS_ERRORS,
} from '@ratls/verifier';
import { listenerAppraiser, type Verification } from './appraiser.js';
import type { GatewayLimits, HostPort, ListenerConfig } from './config/config.js';
import type { EarlyTcbObserver } from './early-tcb.js';
import { postgresListener } from './forward/postgres/listener.js';
import { forwardTcp } from './forward/tcp.js';
import type { HttpForwarder } from './http/forward.js';
import { attestationRefusal } from './http/refusal.js';
import { createHttpForwardServer } from './http/server.js';
import { createIdentityServer } from './identity-endpoint.js';
import type { IdentityService } from './identity-service.js';
import type { GatewayLog } from './log.js';
import type { GatewayMetrics, LimitName } from './metrics.js';
import { proxyProtocolReader } from './proxy-input.js';
import type { Credentials, ListenerView } from './state.js';

/** The metrics a listener writes (the admin side reads the registry; reload writes its own). */
export type ListenerMetrics = Pick<
  GatewayMetrics,
  'handshakes' | 'rejections' | 'verificationSeconds' | 'activeConnections' | 'limitHits' | 'waivedAccepts'
>;

export interface ListenerDeps {
  /** This listener's part of the state in force, read per connection and per decision. */
  view: () => ListenerView;
  audit: AuditLog;
  metrics: ListenerMetrics;
  log: GatewayLog;
  clock: () => number;
  /** Gateway-wide limits (restart-only): certificate size, idle timeout. */
  limits: Pick<GatewayLimits, 'maxCertificateBytes' | 'idleTimeoutMs'>;
  /** True once the gateway drains: HTTP responses then close their connections. */
  closing: () => boolean;
  /**
   * `tls: attested` (issue 13): answers clients' channel challenges with fresh evidence from the
   * gateway's provider. Without one, a client that challenges is refused (ERR_CHANNEL_UNSUPPORTED).
   */
  channelAttester?: ChannelAttester;
  /** Early TCB warning (issue 17, `earlyTcb: true`): sees every certificate-mode accept. */
  early?: EarlyTcbObserver;
  /** The issuing service, for a listener named in `identity.listeners` (issue 15). */
  identity?: IdentityService;
}

/** What the gateway (and nothing else) does with a running listener. */
export interface AttestedListener {
  readonly name: string;
  address(): HostPort | undefined;
  listening(): boolean;
  /** New credentials for new handshakes (a reload); open connections keep theirs. */
  useCredentials(c: Credentials): void;
  /** Accepted connections still open. */
  openConnections(): number;
  /** Stops accepting; resolves once the server has closed (after `destroyAll` at the latest). */
  stopAccepting(): Promise<void>;
  /** Closes keep-alive HTTP connections between requests (drain). */
  closeIdle(): void;
  /** Ends every open connection (the drain deadline passed). */
  destroyAll(): void;
  /**
   * The policy in force changed (a reload): with `onPolicyChange: close`, open connections whose
   * attestation the new policy refuses, or names as another identity, are closed and audited.
   * Returns how many were closed.
   */
  policyChanged(): number;
}

/** Bounded label for a reject: the policy's reason code or the error's stable code. */
function rejectReason(d: PeerDecision): string {
  if (d.decision && !d.decision.accept) return d.decision.reasons[0]?.code ?? 'policy_rejected';
  return d.error?.code ?? 'unknown';
}

const LIMIT_BY_CODE: Record<string, LimitName> = {
  [TLS_ERRORS.HANDSHAKE_TIMEOUT]: 'handshake_timeout',
  [TLS_ERRORS.CERTIFICATE_TOO_LARGE]: 'max_certificate_bytes',
  [TLS_ERRORS.TOO_MANY_HANDSHAKES]: 'max_connections',
  [TLS_ERRORS.CLIENT_HELLO_TIMEOUT]: 'client_hello_timeout',
  [TLS_ERRORS.TOO_MANY_FROM_SOURCE]: 'max_pending_per_source',
  [TLS_ERRORS.PRE_TLS_TOO_LARGE]: 'max_pre_tls_bytes',
  [TLS_ERRORS.SOURCE_RATE_LIMITED]: 'max_handshakes_per_second_per_source',
};

/**
 * The listener's channel options: `freshness: channel` requires bound evidence of every client;
 * an attested listener (`tls: attested`) always speaks the exchange, so it can answer a client
 * whose policy asks for fresh evidence of the gateway, whatever it asks of that client.
 */
function channelOptions(lc: ListenerConfig, attester: ChannelAttester | undefined): { channel?: ChannelOptions } {
  const timeout = lc.channelTimeoutMs !== undefined ? { timeoutMs: lc.channelTimeoutMs } : {};
  const answer = attester ? { attester } : {};
  if (lc.freshness === 'channel') return { channel: { require: true, ...timeout, ...answer } };
  if (attester || lc.channelTimeoutMs !== undefined) return { channel: { ...timeout, ...answer } };
  return {};
}

/**
 * Binds one listener and resolves once it is listening.
 * @example
 * const l = await startListener(config.listeners[0], { view: () => listenerView(state, 'api'), audit, metrics, log, clock: Date.now, limits: config.limits, closing: () => false });
 * l.address(); // { host: '127.0.0.1', port: 8443 }
 */
export async function startListener(lc: ListenerConfig, deps: ListenerDeps): Promise<AttestedListener> {
  const { view, audit, metrics, log, clock, limits } = deps;
  const name = lc.name;
  const sockets = new Set<tls.TLSSocket>();
  /** Sockets the gateway itself ended (idle limit, drain deadline), for the close event's reason. */
  const endedByGateway = new WeakSet<tls.TLSSocket>();

  // The appraiser is rebuilt only when the verification path changes, so its caches survive reloads.
  const appraiserFor = (verification: Verification): PeerAppraiser =>
    listenerAppraiser({
      verification,
      // Read on every decision: a policy reload applies to the very next handshake.
      policy: () => view().policy,
      audit,
      listener: name,
      maxCertificateBytes: limits.maxCertificateBytes,
      appraisalTimeoutMs: lc.limits.handshakeTimeoutMs,
    });
  const first = view().verification;
  let built = { verification: first, appraiser: appraiserFor(first) };
  const appraiser = (): PeerAppraiser => {
    let verification: Verification;
    try {
      verification = view().verification;
    } catch {
      // No view (cannot happen while reloads refuse listener changes): the current appraiser
      // asks for the policy again and refuses, audited, with the view's error.
      return built.appraiser;
    }
    if (built.verification !== verification) built = { verification, appraiser: appraiserFor(verification) };
    return built.appraiser;
  };

  const hitLimit = (limit: LimitName, fields: Record<string, unknown> = {}) => {
    metrics.limitHits.inc({ listener: name, limit });
    log('warn', `limit hit: ${limit}`, { listener: name, limit, ...fields });
  };

  /** Counts one certificate decision (either path), `t0` being when it was asked for. */
  const counted = (der: Uint8Array, d: PeerDecision, peerIp: string | undefined, t0: number): PeerDecision => {
    metrics.verificationSeconds.observe({ listener: name }, (performance.now() - t0) / 1000);
    metrics.handshakes.inc({ listener: name, result: d.accept ? 'accept' : 'reject' });
    // Waiver names come from the operator's policy (bounded there), never from the peer.
    const waivers = d.accept && d.decision?.accept ? d.decision.waivers : undefined;
    if (waivers?.length) metrics.waivedAccepts.inc({ listener: name, waiver: waivers.join(',') });
    // A channel-mode accept is not final here; the early set sees certificate-mode accepts.
    if (d.accept && d.freshness !== 'channel') deps.early?.observe(der, d, name);
    if (!d.accept) {
      metrics.rejections.inc({ listener: name, tee: d.result?.tee ?? 'none', reason: rejectReason(d) });
      const limit = d.error ? LIMIT_BY_CODE[d.error.code] : undefined;
      if (limit) hitLimit(limit, { peer: peerIp });
    }
    return d;
  };

  /** The appraiser handed to the TLS server: delegates to the current one and counts outcomes. */
  const counting: PeerAppraiser = {
    async appraise(der, ctx) {
      const t0 = performance.now();
      return counted(der, await appraiser().appraise(der, ctx), ctx.peer.ip, t0);
    },
    // A cached result: the same decision and counts, without a promise (the TLS server's fast path).
    appraiseCached(der, ctx) {
      const t0 = performance.now();
      const d = appraiser().appraiseCached?.(der, ctx);
      return d === undefined ? undefined : counted(der, d, ctx.peer.ip, t0);
    },
    reject(error, ctx) {
      metrics.handshakes.inc({ listener: name, result: 'reject' });
      metrics.rejections.inc({ listener: name, tee: 'none', reason: error.code });
      const limit = LIMIT_BY_CODE[error.code];
      if (limit) hitLimit(limit, { peer: ctx.peer.ip });
      appraiser().reject?.(error, ctx);
    },
    // Channel mode: the fresh evidence is appraised (and audited) by the same current appraiser.
    async appraiseChannel(input, ctx) {
      const current = appraiser();
      const d = current.appraiseChannel
        ? await current.appraiseChannel(input, ctx)
        : { accept: false, error: { code: 'ERR_CHANNEL_UNSUPPORTED', message: 'appraiser has no channel appraisal' } };
      if (!d.accept) {
        metrics.rejections.inc({ listener: name, tee: d.result?.tee ?? 'none', reason: rejectReason(d) });
      }
      return d;
    },
  };

  // PostgreSQL: its pre-TLS readers, ALPN, and the cancel keys of this listener's sessions.
  const pg = lc.forward.kind === 'postgres' ? postgresListener() : undefined;
  const server = createServer({
    ...view().credentials,
    minVersion: 'TLSv1.2',
    ...(pg?.tlsOptions ?? {}),
    attestation: {
      verifier: counting,
      // The pre-TLS acceptor's bounds: a source (IPv4 address, IPv6 /64) holds at most
      // maxPendingPerSource of the listener's maxConnections waiting slots.
      handshakeTimeoutMs: lc.limits.handshakeTimeoutMs,
      clientHelloTimeoutMs: lc.limits.clientHelloTimeoutMs,
      maxPendingPerSource: lc.limits.maxPendingPerSource,
      ...(lc.limits.maxHandshakesPerSecondPerSource !== undefined
        ? { maxHandshakesPerSecondPerSource: lc.limits.maxHandshakesPerSecondPerSource }
        : {}),
      maxConcurrentHandshakes: lc.limits.maxConnections,
      listener: name,
      clock,
      // Behind a balancer, its PROXY v2 header comes first; the acceptor's first-byte deadline
      // (clientHelloTimeoutMs) bounds the wait for it and for the TLS record after it.
      // PostgreSQL's SSLRequest/GSSENCRequest readers come after it: the balancer's header is first on the wire.
      ...(lc.proxyProtocol || pg
        ? {
            preTlsReaders: [
              ...(lc.proxyProtocol ? [proxyProtocolReader(lc.proxyProtocol.from)] : []),
              ...(pg ? pg.preTlsReaders : []),
            ],
          }
        : {}),
      // Nothing reaches the backend before the channel decision: hand-off waits for it.
      // (Identities whose policy says `freshness: channel` get the exchange without this.)
      ...channelOptions(lc, deps.channelAttester),
      // `refusal: http-403` (off by default): a refused peer reads why, as a reason code only.
      ...(lc.refusal === 'http-403' ? { refusalResponse: attestationRefusal } : {}),
      // `refusal: channel`: the same reason code, as a channel refusal frame.
      ...(lc.refusal === 'channel' ? { refusalResponse: channelRefusalResponse } : {}),
    },
    // A postgres listener selects ALPN itself (pg.tlsOptions); the config refuses `alpn` there.
    ...(lc.alpn && !pg ? { ALPNProtocols: lc.alpn } : {}),
  });
  server.maxConnections = lc.limits.maxConnections;

  let httpServer: http.Server | undefined;
  let httpForward: HttpForwarder | undefined;
  if (lc.forward.kind === 'http') {
    const hs = createHttpForwardServer({
      listener: name,
      target: () => {
        const f = view().config.forward;
        return f.kind === 'http' ? f : undefined;
      },
      audit: (input) => audit.recordHttpRequest(input),
      clock,
      idleTimeoutMs: lc.connection.idleTimeoutMs,
      backendTimeoutMs: limits.idleTimeoutMs,
      closing: deps.closing,
      onBackendError: (e) => log('warn', 'backend request failed', { listener: name, error: e.message }),
      onIdleTimeout: (sock) => hitLimit('idle_timeout', { peer: clientAddressOf(sock).ip }),
    });
    httpForward = hs.forwarder;
    httpServer = hs.server;
  }

  // Issue 15: a listener named in identity.listeners answers identity requests itself.
  const identityServer =
    lc.forward.kind === 'identity' && deps.identity
      ? createIdentityServer({
          listener: name,
          service: () => deps.identity as IdentityService,
          audit,
          log,
          clock,
          idleTimeoutMs: lc.connection.idleTimeoutMs,
        })
      : undefined;

  /** One audit event for a connection the gateway ends after its decision (age, policy change). */
  const closeAudited = (sock: tls.TLSSocket, code: string, message: string, action: string) => {
    const a = attestationOf(sock);
    audit.record({
      error: { code, message },
      ...(a?.result ? { result: a.result } : {}),
      peer: { ...clientAddressOf(sock), role: 'client' },
      listener: name,
      action,
      at: new Date(clock()),
    });
    endedByGateway.add(sock);
    sock.destroy();
  };

  // Hand off: only sockets whose decision accepted reach here (H7's createServer).
  server.on('secureConnection', (sock: tls.TLSSocket) => {
    sockets.add(sock);
    metrics.activeConnections.inc({ listener: name });
    // Duration is wall time (like the drain deadline): `clock` is the decision clock, which tests fix.
    const t0 = performance.now();
    // The real client (behind a balancer, the PROXY v2 source), as the handshake event names it.
    const peer = clientAddressOf(sock);
    // As the acceptor read it on accept: the TLS socket would ask the kernel again.
    const local = localAddressOf(sock);
    let ageTimer: NodeJS.Timeout | undefined;
    if (lc.connection.maxConnectionAgeMs > 0) {
      // A session that outlives this re-attests on its next connection: the decision is not forever.
      ageTimer = setTimeout(() => {
        hitLimit('max_connection_age', { peer: clientAddressOf(sock).ip });
        closeAudited(
          sock,
          'ERR_GATEWAY_CONNECTION_AGE',
          `connection open for ${lc.connection.maxConnectionAgeMs} ms (maxConnectionAgeMs); reconnect to re-attest`,
          'ratls-connection-closed',
        );
      }, lc.connection.maxConnectionAgeMs);
      ageTimer.unref();
    }
    sock.once('close', () => {
      if (ageTimer) clearTimeout(ageTimer);
      sockets.delete(sock);
      metrics.activeConnections.dec({ listener: name });
      const identity = attestationOf(sock)?.identity;
      // Application bytes of this TLS connection (a TLSSocket counts its cleartext), as HAProxy logs them.
      audit.recordConnectionClose({
        listener: name,
        peer,
        local,
        ...(identity ? { identity } : {}),
        bytesIn: sock.bytesRead,
        bytesOut: sock.bytesWritten,
        durationMs: performance.now() - t0,
        closedBy: endedByGateway.has(sock) ? 'gateway' : 'peer',
        at: new Date(clock()),
      });
    });
    let target: ListenerView['config']['forward'];
    try {
      target = view().config.forward;
    } catch (e) {
      // Fail closed: without the listener's configuration there is nowhere safe to forward to.
      log('error', 'no configuration for an accepted connection', { listener: name, error: (e as Error).message });
      sock.destroy();
      return;
    }
    if (target.kind === 'http') {
      if (httpServer) httpServer.emit('connection', sock);
      else sock.destroy();
      return;
    }
    if (target.kind === 'identity') {
      if (identityServer) identityServer.emit('connection', sock);
      else sock.destroy();
      return;
    }
    if (lc.connection.idleTimeoutMs > 0)
      sock.setTimeout(lc.connection.idleTimeoutMs, () => {
        hitLimit('idle_timeout', { peer: clientAddressOf(sock).ip });
        endedByGateway.add(sock);
        sock.destroy();
      });
    if (target.kind === 'postgres') {
      if (!pg) sock.destroy();
      else pg.forward(sock, target, { audit, listener: name, clock, log });
      return;
    }
    forwardTcp(sock, target, {
      onBackendError: (e) => log('warn', 'backend connection failed', { listener: name, error: e.message }),
      onBackendTlsRefused: (e) => {
        log('warn', 'backend certificate did not verify', { listener: name, error: e.message });
        closeAudited(sock, 'ERR_GATEWAY_BACKEND_TLS', `backend TLS: ${e.message}`, 'ratls-backend-tls');
      },
    });
  });
  server.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) => {
    // Over maxConnections Node closes the socket before any TLS: record it as an attempt.
    const error = {
      code: 'ERR_GATEWAY_MAX_CONNECTIONS',
      message: `${lc.limits.maxConnections} connections already open`,
    };
    metrics.handshakes.inc({ listener: name, result: 'reject' });
    metrics.rejections.inc({ listener: name, tee: 'none', reason: error.code });
    hitLimit('max_connections', { peer: d?.remoteAddress });
    audit.record({ error, peer: { ip: d?.remoteAddress, port: d?.remotePort }, listener: name, at: new Date(clock()) });
  });
  server.on('tlsClientError', () => {
    // Counted and audited by the attestation layer; this listener only keeps Node from logging.
  });

  await new Promise<void>((resolve, reject) => {
    const failed = (e: Error) => {
      server.close();
      reject(e);
    };
    server.once('error', failed);
    // The accept queue is as deep as maxConnections (HAProxy's `backlog` defaults to the
    // frontend's maxconn the same way; the kernel caps it at net.core.somaxconn). Node's default
    // of 511 overflows when a fleet reconnects at once, and an overflowed SYN is retried by the
    // client only after 1, 3, 7… s: seconds of latency before the gateway has seen the connection.
    server.listen({ port: lc.listen.port, host: lc.listen.host, backlog: lc.limits.maxConnections }, () => {
      server.off('error', failed);
      resolve();
    });
  });

  let stopped: Promise<void> | undefined;
  return {
    name,
    address() {
      const a = server.address() as AddressInfo | null;
      return a ? { host: a.address, port: a.port } : undefined;
    },
    listening: () => server.listening,
    useCredentials(c) {
      server.setSecureContext({ ...c, minVersion: 'TLSv1.2' });
    },
    openConnections: () => sockets.size,
    stopAccepting() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
    },
    closeIdle() {
      httpServer?.closeIdleConnections();
      identityServer?.closeIdleConnections();
    },
    destroyAll() {
      for (const s of sockets) {
        endedByGateway.add(s);
        s.destroy();
      }
      httpServer?.closeAllConnections();
      identityServer?.closeAllConnections();
      httpForward?.close();
    },
    policyChanged() {
      if (lc.connection.onPolicyChange === 'keep') return 0;
      let policy: ListenerView['policy'];
      try {
        policy = view().policy;
      } catch {
        return 0;
      }
      let closed = 0;
      for (const sock of [...sockets]) {
        const a = attestationOf(sock);
        const at = clock();
        const d =
          a?.result && a.certificate
            ? evaluatePolicy(policy, a.result, {
                certificate: { notBefore: a.certificate.notBefore },
                at: Math.floor(at / 1000),
              })
            : undefined;
        if (d?.accept && d.identity === a?.identity) continue;
        closed++;
        closeAudited(
          sock,
          'ERR_GATEWAY_POLICY_CHANGED',
          d?.accept
            ? `policy ${policy.hash.slice(0, 12)} now names this peer ${d.identity}, not ${a?.identity}`
            : `policy ${policy.hash.slice(0, 12)} no longer accepts identity ${a?.identity ?? '(none)'}: ${d?.reasons[0]?.message ?? 'no attestation'}`,
          'ratls-policy-change',
        );
      }
      return closed;
    },
  };
}
