/**
 * `startGateway`: attested TLS listeners (H7's `createServer`, so no byte from a peer reaches a
 * backend before the policy decision), HTTP or TCP forwarding, an admin server with /healthz and
 * /metrics, limits, hot reload (validate everything first, then swap; a bad edit changes nothing)
 * and graceful shutdown.
 */
import { createHash } from 'node:crypto';
import { type FSWatcher, readFileSync, watch } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, dirname } from 'node:path';
import tls from 'node:tls';
import { ConfigError, type RatlsError, toRatlsError } from '@ratls/evidence';
import {
  type AuditLog,
  type AuditSink,
  type CollateralSource,
  collateralFacts,
  collateralFromJson,
  createAuditLog,
  createServer,
  FileCollateralSource,
  KdsCollateralSource,
  loadPolicyFile,
  PccsCollateralSource,
  type PeerAppraiser,
  type PeerDecision,
  type Policy,
  TLS_ERRORS,
  type TrustAnchor,
  trustAnchorFrom,
} from '@ratls/verifier';
import { type CertificateVerify, listenerAppraiser, realVerification, type Verification } from './appraiser.js';
import { formatHostPort, type GatewayConfig, type HostPort, type ListenerConfig, loadGatewayConfig } from './config.js';
import { createHttpForwardServer, type HttpForwarder } from './http-forward.js';
import { createGatewayMetrics, type GatewayMetrics, type LimitName, setPolicyHashes } from './metrics.js';
import { forwardTcp } from './tcp-forward.js';

export const GATEWAY_VERSION = '0.1.0';

/** One operational log line (not an audit event): reloads, limits, backend failures. */
export type GatewayLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

export interface StartGatewayOptions {
  /** Decision and health clock, Unix milliseconds (default Date.now). */
  clock?: () => number;
  /** Overrides the config's audit sink (tests use a callback). */
  auditSink?: AuditSink;
  /** Operational log (default: JSON lines on stderr). */
  log?: GatewayLog;
  /** Debounce for file-change reloads (default 300 ms); `false` disables watching. */
  watch?: { debounceMs?: number } | false;
  /**
   * Replaces certificate verification (tests without a TEE simulator; never in production).
   * The policy is still applied to whatever result it returns.
   */
  dangerousVerify?: CertificateVerify;
}

export type ReloadResult = { ok: true; policyHashes: string[] } | { ok: false; error: RatlsError };

export interface Gateway {
  /** Actual bound addresses by listener name, plus `admin` when configured. */
  addresses(): Record<string, HostPort>;
  /** Re-reads config, policies, certificates and collateral; swaps only if all of it is valid. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets open connections finish until the drain deadline, flushes the audit log. */
  close(): Promise<void>;
  readonly metrics: GatewayMetrics;
  /** The /healthz answer. */
  health(): { ok: boolean; body: Record<string, unknown> };
}

/** Everything a reload may replace, built and validated as a whole before it is swapped in. */
interface State {
  config: GatewayConfig;
  policies: Map<string, Policy>;
  /** Per listener: the secure context options. */
  credentials: Map<string, { cert: string; key: string }>;
  verification: Verification;
  /** Key of what `verification` was built from, to keep its caches across reloads that do not change it. */
  verifyKey: string;
  collateral: CollateralSource;
  /** Collateral files' facts (file sources only), for health and metrics. */
  fileCollateral: Array<{ path: string; fmspc: string; nextUpdateMs: number }>;
}

interface Listener {
  name: string;
  server: tls.Server;
  http?: http.Server;
  httpForward?: HttpForwarder;
  sockets: Set<tls.TLSSocket>;
  appraiser: PeerAppraiser;
}

const sha256 = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

function defaultLog(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('ERR_GATEWAY_FILE', 'config', `${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

async function buildState(
  config: GatewayConfig,
  previous: State | undefined,
  opts: StartGatewayOptions,
): Promise<State> {
  const policies = new Map<string, Policy>();
  for (const path of new Set([config.policy, ...config.listeners.map((l) => l.policy)])) {
    policies.set(path, await loadPolicyFile(path));
  }
  const credentials = new Map<string, { cert: string; key: string }>();
  for (const l of config.listeners) {
    const cert = readText(l.tls.cert, `listener ${l.name}: certificate`);
    const key = readText(l.tls.key, `listener ${l.name}: key`);
    try {
      tls.createSecureContext({ cert, key });
    } catch (e) {
      throw new ConfigError(
        'ERR_GATEWAY_TLS',
        'config',
        `listener ${l.name}: certificate/key unusable: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
    credentials.set(l.name, { cert, key });
  }

  const anchorTexts = config.trust.anchors?.map((p) => readText(p, 'trust anchor'));
  const snpAnchorTexts = config.trust.snp?.anchors?.map((p) => readText(p, 'SEV-SNP trust anchor'));
  const nitroAnchorTexts = config.trust.nitro?.anchors?.map((p) => readText(p, 'Nitro trust anchor'));
  const c = config.trust.collateral;
  const collateralTexts = c.kind === 'files' ? c.paths.map((p) => readText(p, 'collateral')) : [];
  const verifyKey = sha256(
    JSON.stringify({ trust: config.trust, anchorTexts, snpAnchorTexts, nitroAnchorTexts, collateralTexts }),
  );

  const fileCollateral: State['fileCollateral'] = [];
  collateralTexts.forEach((text, k) => {
    const path = (c as { paths: string[] }).paths[k] as string;
    try {
      const f = collateralFacts(collateralFromJson(text));
      fileCollateral.push({ path, fmspc: f.fmspc, nextUpdateMs: f.nextUpdate });
    } catch (e) {
      throw toRatlsError(e, 'ERR_GATEWAY_COLLATERAL', 'config');
    }
  });

  if (previous && previous.verifyKey === verifyKey && !opts.dangerousVerify) {
    return {
      config,
      policies,
      credentials,
      verification: previous.verification,
      verifyKey,
      collateral: previous.collateral,
      fileCollateral,
    };
  }
  let anchors: TrustAnchor[] | undefined;
  if (anchorTexts) anchors = anchorTexts.map((t) => trustAnchorFrom(t));
  const collateral: CollateralSource =
    c.kind === 'files'
      ? new FileCollateralSource(c.paths)
      : new PccsCollateralSource(c.url, {
          ...(c.cacheDir ? { cacheDir: c.cacheDir } : {}),
          ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
        });
  const verification: Verification = opts.dangerousVerify
    ? { kind: 'dangerous', verify: opts.dangerousVerify }
    : realVerification(collateral, anchors, {
        ...(snpAnchorTexts || config.trust.snp?.kds
          ? {
              snp: {
                ...(snpAnchorTexts ? { trustAnchors: snpAnchorTexts.map((t) => trustAnchorFrom(t)) } : {}),
                ...(config.trust.snp?.kds ? { kds: new KdsCollateralSource(config.trust.snp.kds) } : {}),
              },
            }
          : {}),
        ...(nitroAnchorTexts ? { nitroTrustAnchors: nitroAnchorTexts.map((t) => trustAnchorFrom(t)) } : {}),
      });
  return { config, policies, credentials, verification, verifyKey, collateral, fileCollateral };
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
};

/** Things that must not change without a restart (sockets are bound, the audit file is open). */
function restartOnlyChanges(a: GatewayConfig, b: GatewayConfig): string | undefined {
  const key = (l: ListenerConfig) =>
    `${l.name}@${formatHostPort(l.listen)}/${l.forward.kind === 'http' ? 'http' : 'tcp'}`;
  const la = a.listeners.map(key).sort().join(',');
  const lb = b.listeners.map(key).sort().join(',');
  if (la !== lb) return `listeners changed (${la} → ${lb})`;
  if (JSON.stringify(a.admin) !== JSON.stringify(b.admin)) return 'admin address changed';
  if (JSON.stringify(a.audit) !== JSON.stringify(b.audit)) return 'audit sink changed';
  if (JSON.stringify(a.limits) !== JSON.stringify(b.limits)) return 'limits changed';
  const own = (c: GatewayConfig) => JSON.stringify(c.listeners.map((l) => [l.name, l.limits]).sort());
  if (own(a) !== own(b)) return 'listener limits changed';
  return undefined;
}

/**
 * Starts every listener and the admin server from a YAML configuration file.
 * @example
 * const gw = await startGateway('/etc/ratls/gateway.yaml');
 * console.log(gw.addresses()); // { api: { host: '127.0.0.1', port: 8443 }, admin: … }
 * process.on('SIGHUP', () => void gw.reload());
 * await gw.close();
 */
export async function startGateway(configPath: string, opts: StartGatewayOptions = {}): Promise<Gateway> {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? defaultLog;
  const config = loadGatewayConfig(configPath);
  let state = await buildState(config, undefined, opts);
  const limits = config.limits;
  const audit: AuditLog = createAuditLog({ sink: opts.auditSink ?? config.audit, now: () => new Date(clock()) });

  const collateralForMetrics = () => {
    const s = state;
    if (s.collateral instanceof PccsCollateralSource) {
      return s.collateral.status().entries.map((e) => ({ fmspc: e.fmspc, nextUpdateMs: e.nextUpdate }));
    }
    return s.fileCollateral.map((f) => ({ fmspc: f.fmspc, nextUpdateMs: f.nextUpdateMs }));
  };
  const metrics = createGatewayMetrics(GATEWAY_VERSION, collateralForMetrics);
  setPolicyHashes(
    metrics,
    [...state.policies.values()].map((p) => p.hash),
  );

  const listeners = new Map<string, Listener>();
  let closing = false;

  const makeAppraiser = (l: ListenerConfig, s: State): PeerAppraiser =>
    listenerAppraiser({
      verification: s.verification,
      // Read on every decision: a policy reload applies to the very next handshake.
      // By name, not the captured config: a reload may point the listener at another policy file.
      policy: () => {
        const path = state.config.listeners.find((x) => x.name === l.name)?.policy ?? l.policy;
        const p = state.policies.get(path);
        if (!p)
          throw new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${l.name}: no policy loaded for ${path}`);
        return p;
      },
      audit,
      listener: l.name,
      maxCertificateBytes: limits.maxCertificateBytes,
      appraisalTimeoutMs: l.limits.handshakeTimeoutMs,
    });

  const hitLimit = (listener: string, limit: LimitName, fields: Record<string, unknown> = {}) => {
    metrics.limitHits.inc({ listener, limit });
    log('warn', `limit hit: ${limit}`, { listener, limit, ...fields });
  };

  /** The appraiser handed to the TLS server: delegates to the current one and counts outcomes. */
  const countingAppraiser = (name: string, lst: () => Listener): PeerAppraiser => ({
    async appraise(der, ctx) {
      const t0 = performance.now();
      const d = await lst().appraiser.appraise(der, ctx);
      metrics.verificationSeconds.observe({ listener: name }, (performance.now() - t0) / 1000);
      metrics.handshakes.inc({ listener: name, result: d.accept ? 'accept' : 'reject' });
      if (!d.accept) {
        metrics.rejections.inc({ listener: name, tee: d.result?.tee ?? 'none', reason: rejectReason(d) });
        const limit = d.error ? LIMIT_BY_CODE[d.error.code] : undefined;
        if (limit) hitLimit(name, limit, { peer: ctx.peer.ip });
      }
      return d;
    },
    reject(error, ctx) {
      metrics.handshakes.inc({ listener: name, result: 'reject' });
      metrics.rejections.inc({ listener: name, tee: 'none', reason: error.code });
      const limit = LIMIT_BY_CODE[error.code];
      if (limit) hitLimit(name, limit, { peer: ctx.peer.ip });
      lst().appraiser.reject?.(error, ctx);
    },
  });

  const onAccepted = (l: Listener, lc: () => ListenerConfig) => (sock: tls.TLSSocket) => {
    l.sockets.add(sock);
    metrics.activeConnections.inc({ listener: l.name });
    sock.once('close', () => {
      l.sockets.delete(sock);
      metrics.activeConnections.dec({ listener: l.name });
    });
    const target = lc().forward;
    if (target.kind === 'http' && l.http) {
      l.http.emit('connection', sock);
      return;
    }
    if (target.kind === 'http') {
      sock.destroy();
      return;
    }
    sock.setTimeout(limits.idleTimeoutMs, () => {
      hitLimit(l.name, 'idle_timeout', { peer: sock.remoteAddress });
      sock.destroy();
    });
    forwardTcp(sock, target, (e) => log('warn', 'backend connection failed', { listener: l.name, error: e.message }));
  };

  const listenerConfig = (name: string) => () => state.config.listeners.find((x) => x.name === name) as ListenerConfig;

  try {
    for (const lc of config.listeners) {
      const creds = state.credentials.get(lc.name) as { cert: string; key: string };
      const holder: { l?: Listener } = {};
      const server = createServer({
        ...creds,
        minVersion: 'TLSv1.2',
        attestation: {
          verifier: countingAppraiser(lc.name, () => holder.l as Listener),
          // The pre-TLS acceptor's bounds: a source (IPv4 address, IPv6 /64) holds at most
          // maxPendingPerSource of the listener's maxConnections waiting slots.
          handshakeTimeoutMs: lc.limits.handshakeTimeoutMs,
          clientHelloTimeoutMs: lc.limits.clientHelloTimeoutMs,
          maxPendingPerSource: lc.limits.maxPendingPerSource,
          maxConcurrentHandshakes: lc.limits.maxConnections,
          listener: lc.name,
          clock,
        },
      });
      server.maxConnections = lc.limits.maxConnections;
      const l: Listener = { name: lc.name, server, sockets: new Set(), appraiser: makeAppraiser(lc, state) };
      holder.l = l;
      if (lc.forward.kind === 'http') {
        const cfg = listenerConfig(lc.name);
        const hs = createHttpForwardServer({
          listener: lc.name,
          target: () => {
            const f = cfg().forward;
            return f.kind === 'http' ? f : undefined;
          },
          audit: (input) => audit.recordHttpRequest(input),
          clock,
          idleTimeoutMs: limits.idleTimeoutMs,
          closing: () => closing,
          onBackendError: (e) => log('warn', 'backend request failed', { listener: lc.name, error: e.message }),
          onIdleTimeout: (sock) => hitLimit(lc.name, 'idle_timeout', { peer: sock.remoteAddress }),
        });
        l.httpForward = hs.forwarder;
        l.http = hs.server;
      }
      server.on('secureConnection', onAccepted(l, listenerConfig(lc.name)));
      server.on('drop', (d?: { remoteAddress?: string; remotePort?: number }) => {
        // Over maxConnections Node closes the socket before any TLS: record it as an attempt.
        const error = {
          code: 'ERR_GATEWAY_MAX_CONNECTIONS',
          message: `${lc.limits.maxConnections} connections already open`,
        };
        metrics.handshakes.inc({ listener: lc.name, result: 'reject' });
        metrics.rejections.inc({ listener: lc.name, tee: 'none', reason: error.code });
        hitLimit(lc.name, 'max_connections', { peer: d?.remoteAddress });
        audit.record({
          error,
          peer: { ip: d?.remoteAddress, port: d?.remotePort },
          listener: lc.name,
          at: new Date(clock()),
        });
      });
      server.on('tlsClientError', () => {
        // Counted and audited by the attestation layer; this listener only keeps Node from logging.
      });
      listeners.set(lc.name, l);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(lc.listen.port, lc.listen.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    }
  } catch (e) {
    for (const l of listeners.values()) l.server.close();
    await audit.close();
    throw new ConfigError('ERR_GATEWAY_LISTEN', 'config', `cannot listen: ${(e as Error).message}`, { cause: e });
  }

  const health = (): { ok: boolean; body: Record<string, unknown> } => {
    const now = clock();
    const problems: string[] = [];
    const ls: Record<string, string> = {};
    for (const l of listeners.values()) {
      ls[l.name] = l.server.listening ? 'listening' : 'down';
      if (!l.server.listening) problems.push(`listener ${l.name} is not listening`);
    }
    let collateral: Record<string, unknown>;
    const s = state;
    if (s.collateral instanceof PccsCollateralSource) {
      const st = s.collateral.status();
      for (const e of st.entries) {
        if (e.nextUpdate <= now) problems.push(`collateral ${e.tee}/${e.fmspc} is past its nextUpdate`);
      }
      // A failed fetch alone is a warning: cached collateral keeps serving until its nextUpdate, and
      // a PCCS blip must not pull every gateway of a fleet out of its balancer at once.
      collateral = {
        source: 'pccs',
        healthy: st.healthy,
        ...(st.lastError
          ? { lastError: { code: st.lastError.code, at: new Date(st.lastError.at).toISOString() } }
          : {}),
        entries: st.entries.map((e) => ({
          tee: e.tee,
          fmspc: e.fmspc,
          nextUpdate: new Date(e.nextUpdate).toISOString(),
        })),
      };
    } else {
      for (const f of s.fileCollateral) {
        if (f.nextUpdateMs <= now) problems.push(`collateral ${f.fmspc} (${basename(f.path)}) is past its nextUpdate`);
      }
      collateral = {
        source: 'files',
        entries: s.fileCollateral.map((f) => ({ fmspc: f.fmspc, nextUpdate: new Date(f.nextUpdateMs).toISOString() })),
      };
    }
    const body: Record<string, unknown> = {
      status: problems.length === 0 ? 'ok' : 'unhealthy',
      ...(problems.length ? { reasons: problems } : {}),
      version: GATEWAY_VERSION,
      listeners: ls,
      policies: [...s.policies.values()].map((p) => ({ source: basename(p.source), hash: p.hash })),
      collateral,
    };
    return { ok: problems.length === 0, body };
  };

  let admin: http.Server | undefined;
  if (config.admin) {
    admin = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD' }).end();
        return;
      }
      if (path === '/healthz') {
        const h = health();
        res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h.body));
        return;
      }
      if (path === '/metrics') {
        metrics.registry.metrics().then(
          (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
          () => res.writeHead(500).end(),
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    });
    const a = config.admin;
    try {
      await new Promise<void>((resolve, reject) => {
        admin?.once('error', reject);
        admin?.listen(a.port, a.host, () => resolve());
      });
    } catch (e) {
      for (const l of listeners.values()) l.server.close();
      await audit.close();
      throw new ConfigError('ERR_GATEWAY_LISTEN', 'config', `admin: cannot listen: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  // Reloads are serialized so an older read can never overwrite a newer one.
  let chain: Promise<unknown> = Promise.resolve();
  const reloadNow = async (): Promise<ReloadResult> => {
    const old = state;
    try {
      const next = loadGatewayConfig(configPath);
      const restart = restartOnlyChanges(old.config, next);
      if (restart)
        throw new ConfigError('ERR_GATEWAY_RELOAD_RESTART', 'config', `${restart}: restart the gateway to apply`);
      const built = await buildState(next, old, opts);
      // Everything validated: swap. New handshakes use the new credentials and policies at once.
      for (const lc of next.listeners) {
        const l = listeners.get(lc.name) as Listener;
        l.server.setSecureContext({
          ...(built.credentials.get(lc.name) as { cert: string; key: string }),
          minVersion: 'TLSv1.2',
        });
        if (built.verification !== old.verification) l.appraiser = makeAppraiser(lc, built);
      }
      state = built;
      setPolicyHashes(
        metrics,
        [...built.policies.values()].map((p) => p.hash),
      );
      metrics.reloads.inc({ result: 'ok' });
      for (const [path, p] of built.policies) {
        const prev = old.policies.get(path)?.hash;
        audit.recordPolicyReload({
          ok: true,
          hash: p.hash,
          ...(prev ? { previousHash: prev } : {}),
          source: path,
          at: new Date(clock()),
        });
      }
      log('info', 'reloaded', { policies: [...built.policies.values()].map((p) => p.hash) });
      return { ok: true, policyHashes: [...built.policies.values()].map((p) => p.hash) };
    } catch (e) {
      const error = toRatlsError(e, 'ERR_GATEWAY_RELOAD', 'config');
      metrics.reloads.inc({ result: 'failed' });
      audit.recordPolicyReload({
        ok: false,
        hash: old.policies.get(old.config.policy)?.hash,
        source: configPath,
        error: { code: error.code, message: error.message },
        at: new Date(clock()),
      });
      log('error', 'reload refused; the previous configuration stays in force', {
        code: error.code,
        error: error.message,
      });
      return { ok: false, error };
    }
  };
  const reload = (): Promise<ReloadResult> => {
    const next = chain.then(reloadNow);
    chain = next.catch(() => undefined);
    return next;
  };

  // Watch the directories (editors and Kubernetes replace files by rename) for the files that matter.
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const startWatching = () => {
    if (opts.watch === false) return;
    const debounce = opts.watch?.debounceMs ?? 300;
    const s = state.config;
    const files = [s.source, ...state.policies.keys(), ...s.listeners.flatMap((l) => [l.tls.cert, l.tls.key])];
    const byDir = new Map<string, Set<string>>();
    for (const f of files) {
      const set = byDir.get(dirname(f)) ?? new Set<string>();
      set.add(basename(f));
      byDir.set(dirname(f), set);
    }
    for (const [dir, names] of byDir) {
      try {
        const w = watch(dir, { persistent: false }, (_ev, file) => {
          if (closing) return;
          if (file !== null && !names.has(String(file)) && !String(file).startsWith('..')) return;
          if (timer) clearTimeout(timer);
          timer = setTimeout(() => {
            timer = undefined;
            void reload();
          }, debounce);
          timer.unref();
        });
        w.on('error', (e) => log('warn', 'file watch failed; reload with SIGHUP', { dir, error: e.message }));
        watchers.push(w);
      } catch (e) {
        log('warn', 'cannot watch directory; reload with SIGHUP', { dir, error: (e as Error).message });
      }
    }
  };
  startWatching();

  const addresses = (): Record<string, HostPort> => {
    const out: Record<string, HostPort> = {};
    for (const l of listeners.values()) {
      const a = l.server.address() as AddressInfo | null;
      if (a) out[l.name] = { host: a.address, port: a.port };
    }
    const a = admin?.address() as AddressInfo | null | undefined;
    if (a) out.admin = { host: a.address, port: a.port };
    return out;
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
      const stopped = [...listeners.values()].map(
        (l) => new Promise<void>((resolve) => l.server.close(() => resolve())),
      );
      const deadline = Date.now() + limits.drainTimeoutMs;
      const open = () => [...listeners.values()].reduce((n, l) => n + l.sockets.size, 0);
      while (open() > 0 && Date.now() < deadline) {
        for (const l of listeners.values()) l.http?.closeIdleConnections();
        await new Promise((r) => setTimeout(r, 50));
      }
      if (open() > 0) log('warn', 'drain deadline passed; closing remaining connections', { open: open() });
      for (const l of listeners.values()) {
        for (const s of l.sockets) s.destroy();
        l.http?.closeAllConnections();
        l.httpForward?.close();
      }
      await Promise.all(stopped);
      if (admin) {
        admin.closeAllConnections();
        await new Promise<void>((resolve) => admin?.close(() => resolve()));
      }
      await audit.flush();
      await audit.close();
    })();
    return closed;
  };

  return { addresses, reload, close, metrics, health };
}
