/**
 * One local listener of `ratls client`: an unmodified program connects to a UNIX socket (or
 * loopback TCP where that is inside the TEE); for each connection the client opens attested TLS
 * to the server, presenting the enclave's current credentials, and judges the server (its RA-TLS
 * evidence against trust and policy, or an explicitly configured CA), then runs the freshness
 * step, and only then pipes the local socket. Until then the local socket is paused: no byte of
 * the program reaches an unjudged server, and none of the server's reaches the program.
 */
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import tls from 'node:tls';
import { type ChannelAttester, ConfigError, RatlsError, sha256Hex } from '@ratls/evidence';
import { type AuditLog, connect, type PeerAppraiser, type PeerDecision, type Policy } from '@ratls/verifier';
import { listenerAppraiser, type Verification } from '../gateway/appraiser.js';
import type { GatewayLog } from '../gateway/log.js';
import type { GatewayMetrics } from '../gateway/metrics.js';
import type { ClientLimits, ClientListenerConfig, LocalAddress } from './config.js';
import type { AfterHandshake } from './freshness.js';

/** What one tunnel reads from the client's state in force, per connection. */
export interface TunnelView {
  config: ClientListenerConfig;
  /** The listener's policy (attested servers). */
  policy: Policy | undefined;
  /** The listener's CA PEM (servers without attestation). */
  ca: string | undefined;
  verification: Verification | undefined;
}

export interface TunnelDeps {
  view: () => TunnelView;
  /** The enclave's current credentials (renewed in place). */
  credentials: () => { key: string; cert: string };
  afterHandshake: AfterHandshake;
  /** Answers servers' channel challenges (one gate for every tunnel: its rate limit spans them). */
  channelAttester: ChannelAttester;
  audit: AuditLog;
  metrics: Pick<
    GatewayMetrics,
    'handshakes' | 'rejections' | 'verificationSeconds' | 'activeConnections' | 'limitHits'
  >;
  log: GatewayLog;
  clock: () => number;
  limits: ClientLimits;
}

export interface Tunnel {
  readonly name: string;
  /** The bound address: a UNIX path or host:port. */
  address(): LocalAddress | undefined;
  listening(): boolean;
  openConnections(): number;
  stopAccepting(): Promise<void>;
  destroyAll(): void;
}

function rejectReason(d: PeerDecision): string {
  if (d.decision && !d.decision.accept) return d.decision.reasons[0]?.code ?? 'policy_rejected';
  return d.error?.code ?? 'unknown';
}

/** A stale socket file from an earlier run is removed; anything else at the path is refused. */
function clearStaleSocket(path: string): void {
  let st: ReturnType<typeof lstatSync>;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket())
    throw new ConfigError('ERR_CLIENT_LISTEN', 'config', `${path} exists and is not a socket; refusing to replace it`);
  unlinkSync(path);
}

/**
 * Binds one local listener and resolves once it is listening.
 * @example const t = await startTunnel(config.listeners[0], deps); t.address() // { kind: 'unix', path: '/run/ratls/redis.sock' }
 */
export async function startTunnel(lc: ClientListenerConfig, deps: TunnelDeps): Promise<Tunnel> {
  const { view, audit, metrics, log, clock, limits } = deps;
  const name = lc.name;
  const locals = new Set<net.Socket>();
  const upstreams = new Set<tls.TLSSocket>();

  // Rebuilt only when the verification path changes, so its caches survive reloads.
  let built: { verification: Verification; appraiser: PeerAppraiser } | undefined;
  const appraiser = (verification: Verification): PeerAppraiser => {
    if (built?.verification !== verification)
      built = {
        verification,
        appraiser: listenerAppraiser({
          verification,
          policy: () => {
            const p = view().policy;
            if (!p) throw new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${name}: no policy in force`);
            return p;
          },
          audit,
          listener: name,
          maxCertificateBytes: limits.maxCertificateBytes,
          appraisalTimeoutMs: limits.handshakeTimeoutMs,
        }),
      };
    return built.appraiser;
  };
  const counting = (inner: PeerAppraiser): PeerAppraiser => ({
    async appraise(der, ctx) {
      const t0 = performance.now();
      const d = await inner.appraise(der, ctx);
      metrics.verificationSeconds.observe({ listener: name }, (performance.now() - t0) / 1000);
      metrics.handshakes.inc({ listener: name, result: d.accept ? 'accept' : 'reject' });
      if (!d.accept) metrics.rejections.inc({ listener: name, tee: d.result?.tee ?? 'none', reason: rejectReason(d) });
      return d;
    },
    reject(error, ctx) {
      metrics.handshakes.inc({ listener: name, result: 'reject' });
      metrics.rejections.inc({ listener: name, tee: 'none', reason: error.code });
      inner.reject?.(error, ctx);
    },
    // Channel mode towards a server whose identity says `freshness: channel`: the server's fresh
    // evidence is appraised (and audited once) by the same appraiser. Without this delegation the
    // client could answer challenges but never challenge a server (ERR_CHANNEL_UNSUPPORTED).
    async appraiseChannel(input, ctx) {
      const d = inner.appraiseChannel
        ? await inner.appraiseChannel(input, ctx)
        : { accept: false, error: { code: 'ERR_CHANNEL_UNSUPPORTED', message: 'appraiser has no channel appraisal' } };
      if (!d.accept) metrics.rejections.inc({ listener: name, tee: d.result?.tee ?? 'none', reason: rejectReason(d) });
      return d;
    },
  });

  /** Opens the upstream connection for one local connection; resolves once it may carry bytes. */
  const openUpstream = (v: TunnelView): Promise<tls.TLSSocket> =>
    new Promise<tls.TLSSocket>((resolve, reject) => {
      const { connect: to, servername } = v.config;
      const creds = deps.credentials();
      const common = {
        host: to.host,
        port: to.port,
        ...(net.isIP(servername) ? {} : { servername }),
        key: creds.key,
        cert: creds.cert,
        minVersion: 'TLSv1.2' as const,
      };
      let sock: tls.TLSSocket;
      if (v.config.verify.kind === 'attested') {
        if (!v.verification) {
          reject(new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${name}: no verification path in force`));
          return;
        }
        sock = connect({
          ...common,
          attestation: {
            verifier: counting(appraiser(v.verification)),
            // The channel phase has its own bound; the whole decision must fit in both.
            timeoutMs: limits.handshakeTimeoutMs + (v.config.freshness === 'channel' ? limits.channelTimeoutMs : 0),
            clock,
            // Channel mode: speak the exchange (answer the server's challenge after judging it;
            // challenge it when its policy identity says so). `connect` then offers no session.
            ...(v.config.freshness === 'channel'
              ? { channel: { attester: deps.channelAttester, timeoutMs: limits.channelTimeoutMs } }
              : {}),
          },
        });
        sock.once('attested', () => resolve(sock));
      } else {
        const caPem = v.ca ?? '';
        // Captured at TCP connect: a socket that failed verification no longer knows its peer.
        let peer: { ip?: string; port?: number; role: 'server' } | undefined;
        const peerOf = () => peer ?? { role: 'server' as const };
        // No attestation to judge: web-PKI against the configured CA and name, asked for explicitly.
        sock = tls.connect({ ...common, ca: caPem, rejectUnauthorized: true });
        const timer = setTimeout(
          () =>
            sock.destroy(
              new RatlsError('ERR_CLIENT_UPSTREAM', 'tls', `no TLS handshake within ${limits.handshakeTimeoutMs} ms`),
            ),
          limits.handshakeTimeoutMs,
        );
        sock.once('close', () => clearTimeout(timer));
        sock.once('connect', () => {
          peer = {
            ...(sock.remoteAddress ? { ip: sock.remoteAddress } : {}),
            ...(sock.remotePort ? { port: sock.remotePort } : {}),
            role: 'server',
          };
        });
        sock.once('secureConnect', () => {
          clearTimeout(timer);
          const x = sock.getPeerX509Certificate();
          metrics.handshakes.inc({ listener: name, result: 'accept' });
          audit.record({
            decision: { accept: true, identity: `ca:${name}`, policyHash: sha256Hex(caPem), reasons: [] },
            action: 'ratls-ca-handshake',
            peer: { ...peerOf(), ...(x ? { certSha256: x.fingerprint256 } : {}) },
            listener: name,
            at: new Date(clock()),
          });
          resolve(sock);
        });
        sock.once('error', (e: NodeJS.ErrnoException) => {
          // Only a server that answered was judged; a refused TCP connection is not a decision.
          if (peer) {
            metrics.handshakes.inc({ listener: name, result: 'reject' });
            metrics.rejections.inc({ listener: name, tee: 'none', reason: 'ERR_CLIENT_UPSTREAM' });
            audit.record({
              error: {
                code: 'ERR_CLIENT_UPSTREAM',
                message: `server certificate refused: ${e.code ?? ''} ${e.message}`,
              },
              action: 'ratls-ca-handshake',
              peer: peerOf(),
              listener: name,
              at: new Date(clock()),
            });
          }
        });
      }
      upstreams.add(sock);
      sock.once('close', () => upstreams.delete(sock));
      sock.once('error', reject);
      sock.once('close', () =>
        reject(new RatlsError('ERR_CLIENT_UPSTREAM', 'tls', 'the server connection closed before it was accepted')),
      );
    }).then(async (sock) => {
      try {
        await deps.afterHandshake(sock, {
          listener: name,
          freshness: v.config.freshness,
          verify: v.config.verify.kind,
        });
      } catch (e) {
        sock.destroy();
        throw e;
      }
      return sock;
    });

  const server = net.createServer({ pauseOnConnect: true }, (local) => {
    local.on('error', () => undefined);
    if (locals.size >= lc.maxConnections) {
      metrics.limitHits.inc({ listener: name, limit: 'max_connections' });
      log('warn', 'limit hit: max_connections', { listener: name, limit: 'max_connections' });
      local.destroy();
      return;
    }
    locals.add(local);
    metrics.activeConnections.inc({ listener: name });
    local.once('close', () => {
      locals.delete(local);
      metrics.activeConnections.dec({ listener: name });
    });
    let v: TunnelView;
    try {
      v = view();
    } catch (e) {
      log('error', 'no configuration for a local connection', { listener: name, error: (e as Error).message });
      local.destroy();
      return;
    }
    openUpstream(v).then(
      (up) => {
        if (local.destroyed) {
          up.destroy();
          return;
        }
        const idle = () => {
          metrics.limitHits.inc({ listener: name, limit: 'idle_timeout' });
          log('warn', 'limit hit: idle_timeout', { listener: name, limit: 'idle_timeout' });
          local.destroy();
          up.destroy();
        };
        local.setTimeout(limits.idleTimeoutMs, idle);
        up.on('error', () => local.destroy());
        local.on('close', () => up.destroy());
        up.on('close', () => local.end());
        local.pipe(up);
        up.pipe(local);
        local.resume();
      },
      (e: Error & { code?: string }) => {
        log('warn', 'server connection refused or failed', {
          listener: name,
          connect: `${v.config.connect.host}:${v.config.connect.port}`,
          code: e.code,
          error: e.message,
        });
        local.destroy();
      },
    );
  });

  if (lc.listen.kind === 'unix') clearStaleSocket(lc.listen.path);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const done = () => {
      server.off('error', reject);
      resolve();
    };
    if (lc.listen.kind === 'unix') server.listen(lc.listen.path, done);
    else server.listen(lc.listen.port, lc.listen.host, done);
  });
  // Only this user's programs may use the enclave's identity through the socket. A library OS
  // that keeps UNIX sockets out of the file system (Gramine) has no file to restrict: ENOENT.
  if (lc.listen.kind === 'unix') {
    try {
      chmodSync(lc.listen.path, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        server.close();
        throw new ConfigError(
          'ERR_CLIENT_LISTEN',
          'config',
          `${lc.listen.path}: cannot restrict to mode 0600: ${(e as Error).message}`,
        );
      }
    }
  }

  let stopped: Promise<void> | undefined;
  return {
    name,
    address() {
      if (lc.listen.kind === 'unix') return server.listening ? lc.listen : undefined;
      const a = server.address() as AddressInfo | null;
      return a ? { kind: 'tcp', host: a.address, port: a.port } : undefined;
    },
    listening: () => server.listening,
    openConnections: () => locals.size,
    stopAccepting() {
      stopped ??= new Promise<void>((resolve) => server.close(() => resolve()));
      return stopped;
    },
    destroyAll() {
      for (const s of locals) s.destroy();
      for (const s of upstreams) s.destroy();
    },
  };
}
