/**
 * `startGateway`: composes the gateway's lifecycle. state.ts builds what a reload may replace,
 * listener.ts accepts, appraises and hands off, admin.ts answers /healthz and /metrics, reload.ts
 * serializes reloads and watches files; this file starts them in order, swaps state on reload,
 * drains and closes. See docs/gateway.md, "Internals".
 */
import cluster from 'node:cluster';
import { ConfigError } from '@ratls/evidence';
import { type AuditSink, createAuditLog } from '@ratls/verifier';
import { RATLS_VERSION } from '../version.js';
import {
  type AdminServer,
  gatewayHealth,
  gatewayReadiness,
  gatewayWarnings,
  type Health,
  type Readiness,
  startAdmin,
} from './admin.js';
import type { CertificateVerify } from './appraiser.js';
import { openGatewayAttester } from './attested-server.js';
import { workerAudit } from './audit-ipc.js';
import { auditWriter, stateMetrics } from './audit-writer.js';
import { startPrimary } from './cluster.js';
import { IpcCollateralSource, IpcKdsSource } from './collateral-ipc.js';
import { type GatewayConfig, type HostPort, type ListenerConfig, loadGatewayConfig } from './config/config.js';
import { earlyViaPrimary } from './early-ipc.js';
import { earlyTcbMonitor } from './early-tcb.js';
import { openIdentityService, prepareIdentityFiles } from './identity-service.js';
import { type AttestedListener, startListener } from './listener.js';
import { defaultLog, type GatewayLog } from './log.js';
import type { GatewayMetrics } from './metrics.js';
import { type FileWatch, type ReloadResult, serializedReload, watchConfigFiles, watchedFiles } from './reload.js';
import {
  buildState,
  buildStateParts,
  type Credentials,
  type GatewayState,
  listenerView,
  restartOnlyChanges,
} from './state.js';

export type { GatewayLog } from './log.js';
export type { ReloadResult } from './reload.js';

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

export interface Gateway {
  /** Actual bound addresses by listener name, plus `admin` when configured. */
  addresses(): Record<string, HostPort>;
  /** Re-reads config, policies, certificates and collateral; swaps only if all of it is valid. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets open connections finish until the drain deadline, flushes the audit log. */
  close(): Promise<void>;
  readonly metrics: GatewayMetrics;
  /** The /healthz answer. */
  health(): Health;
  /** The /readyz answer: all listeners, or one; `backend` also probes its backend. */
  ready(ask?: { listener?: string; backend?: boolean }): Promise<Readiness>;
  /** Reopens a file audit sink at its path (log rotation: SIGUSR2 and SIGHUP in run.ts). */
  reopenAudit(): Promise<void>;
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
  // Issue 15: the CA and EAR key files are made once, here or in the primary before it forks.
  if (config.identity && cluster.isPrimary) await prepareIdentityFiles(config.identity, clock());
  if (config.workers > 1 && cluster.isPrimary) return startPrimary(configPath, config, opts);
  // A cluster worker: its events go to the primary's one writer, the primary serves admin,
  // watches files and audits reloads; the per-source cap is split between the workers.
  const worker = config.workers > 1 && cluster.isWorker;
  const pccsSource = worker ? collateralViaPrimary(config.trust.collateral) : undefined;
  const kdsSource = worker && config.trust.snp?.kds ? kdsViaPrimary() : undefined;
  // `tls: attested` listeners: this process's own provider, key and quote (in a cluster, per worker).
  const attester = config.attester ? await openGatewayAttester(config.attester, log) : undefined;
  const buildOpts = {
    ...opts,
    ...(pccsSource ? { pccsSource } : {}),
    ...(kdsSource ? { kdsSource } : {}),
    ...(attester ? { attested: attester.current } : {}),
  };
  let state: GatewayState;
  try {
    state = await buildState(config, undefined, buildOpts);
  } catch (e) {
    attester?.close();
    throw e;
  }
  // Each worker reads the same CA key and EAR keys (restart-only: a reload keeps them).
  const identity = config.identity ? await openIdentityService(config.identity, clock()) : undefined;
  const limits = config.limits;
  const sink: AuditSink = worker
    ? {
        // With the primary gone the channel is closed: a send without a callback would raise an
        // 'error' on the process and end the worker mid-drain. The event cannot be written anywhere
        // then; say so on the operational log instead of crashing.
        callback: (ev) => workerAudit.send(ev, (why, n) => log('error', `audit events dropped: ${why}`, { events: n })),
      }
    : (opts.auditSink ?? config.audit);
  // The incident console sees what the one writer writes: here, or in the primary of a cluster.
  const writer = auditWriter(createAuditLog({ sink, now: () => new Date(clock()) }), config, log, !worker, () => state);
  const { audit, consoleHub } = writer;
  // Early TCB warning (issue 17): one watch for the gateway's life, so a reload keeps its once-per-peer memory.
  // A cluster worker runs none: it forwards each accept to the primary's one watch (early-ipc.ts).
  const early = worker
    ? undefined
    : earlyTcbMonitor({ config, verification: () => state.verification, audit, log, clock });
  const earlyObserver = early ?? (worker && config.earlyTcb ? earlyViaPrimary(log) : undefined);
  const metrics = stateMetrics(() => state, clock, early ? () => early.atRiskCounts() : undefined);
  // A worker's warnings are its primary's: one loud line per gateway, not one per process.
  if (!worker) for (const w of gatewayWarnings(state, clock())) log('warn', w.message, { warning: w.kind });

  const listeners: AttestedListener[] = [];
  let closing = false;
  let admin: AdminServer | undefined;
  const inputs = () => ({
    state,
    listeners: listeners.map((l) => ({ name: l.name, listening: l.listening() })),
    now: clock(),
    version: RATLS_VERSION,
    ...(early ? { early } : {}),
  });
  const health = (): Health => gatewayHealth(inputs());
  const ready = (ask: { listener?: string; backend?: boolean } = {}) => gatewayReadiness(inputs(), ask);
  try {
    for (const own of config.listeners) {
      const lc = worker ? splitPerSourceCap(own, config.workers) : own;
      const view = () => listenerView(state, lc.name);
      const deps = {
        view,
        audit,
        metrics,
        log,
        clock,
        limits,
        closing: () => closing,
        ...(attester && !lc.tls ? { channelAttester: attester.channel } : {}),
        ...(earlyObserver ? { early: earlyObserver } : {}),
        ...(identity ? { identity } : {}),
      };
      listeners.push(await startListener(lc, deps));
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.stopAccepting()));
    attester?.close();
    await audit.close();
    throw new ConfigError('ERR_GATEWAY_LISTEN', 'config', `cannot listen: ${(e as Error).message}`, { cause: e });
  }
  if (config.admin && !worker) {
    try {
      admin = await startAdmin(config.admin, {
        health,
        ready,
        metrics,
        ...(config.adminAuth ? { auth: config.adminAuth } : {}),
        ...(consoleHub ? { console: consoleHub } : {}),
        now: clock,
      });
    } catch (e) {
      await Promise.all(listeners.map((l) => l.stopAccepting()));
      attester?.close();
      await audit.close();
      throw e;
    }
  }
  // A renewed attested certificate: new handshakes present it at once, open connections keep theirs
  // (setSecureContext, as a certificate file rotation does on reload).
  attester?.onRenewed((c) => {
    for (const l of config.listeners) if (!l.tls) state.credentials.set(l.name, c);
    for (const l of listeners) if (!state.config.listeners.find((x) => x.name === l.name)?.tls) l.useCredentials(c);
  });

  const reload = serializedReload({
    configPath,
    load: loadGatewayConfig,
    restartOnly: restartOnlyChanges,
    current: () => state,
    build: (next, old) => buildStateParts(next, old, buildOpts, true),
    swap: (built) => {
      for (const l of listeners) l.useCredentials(built.credentials.get(l.name) as Credentials);
      state = built;
      // Open connections the new policy refuses end now (onPolicyChange: close), audited each.
      for (const l of listeners) l.policyChanged();
    },
    // The primary audits each reload once; a worker's own attempt is not a second event.
    audit: worker ? createAuditLog({ sink: { callback: () => {} } }) : audit,
    metrics,
    log,
    clock,
  });
  const watcher: FileWatch | undefined =
    opts.watch === false || worker
      ? undefined
      : watchConfigFiles(watchedFiles(state), () => void reload(), { debounceMs: opts.watch?.debounceMs ?? 300, log });

  const addresses = (): Record<string, HostPort> => {
    const out: Record<string, HostPort> = {};
    for (const l of listeners) {
      const a = l.address();
      if (a) out[l.name] = a;
    }
    const a = admin?.address();
    if (a) out.admin = a;
    return out;
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      watcher?.close();
      const stopped = listeners.map((l) => l.stopAccepting());
      // The drain deadline is wall time: it bounds how long shutdown takes, whatever `clock` says.
      const deadline = Date.now() + limits.drainTimeoutMs;
      const open = () => listeners.reduce((n, l) => n + l.openConnections(), 0);
      while (open() > 0 && Date.now() < deadline) {
        for (const l of listeners) l.closeIdle();
        await new Promise((r) => setTimeout(r, 50));
      }
      if (open() > 0) log('warn', 'drain deadline passed; closing remaining connections', { open: open() });
      for (const l of listeners) l.destroyAll();
      await Promise.all(stopped);
      attester?.close();
      await admin?.close();
      if (early && !(await early.whenIdle(limits.drainTimeoutMs)))
        log('warn', 'early TCB appraisals still running at shutdown; their warnings are lost');
      await writer.closeReaders();
      await audit.flush();
      await audit.close();
    })();
    return closed;
  };

  return { addresses, reload, close, metrics, health, ready, reopenAudit: () => audit.reopen() };
}

/**
 * A worker's share of the per-source pending cap: ceil(cap / workers). Round-robin hands one
 * source's connections to every worker in turn, so the sum over workers approximates the cap
 * (it can exceed it by at most workers - 1).
 */
/**
 * In a cluster worker, PCCS collateral comes through the primary's one source, so N workers
 * starting cold make one upstream request per key. The wait covers the primary's own bounded
 * fetch (four parallel GETs within the PCCS timeout, plus its disk cache) with room to spare.
 */
function collateralViaPrimary(c: GatewayConfig['trust']['collateral']): IpcCollateralSource | undefined {
  if (c.kind !== 'pccs') return undefined;
  const src = new IpcCollateralSource({
    send: (m) => {
      // Without a callback, a send on a closed channel is an 'error' event that would end the process.
      if (!process.connected || !process.send) throw new Error('the IPC channel to the primary is closed');
      process.send(m, undefined, {}, () => {});
    },
    timeoutMs: 2 * (c.timeoutMs ?? 5_000) + 5_000,
  });
  process.on('message', (m: unknown) => void src.receive(m));
  return src;
}

/** In a cluster worker, AMD KDS answers come through the primary's one KDS client and its cache. */
function kdsViaPrimary(): IpcKdsSource {
  const src = new IpcKdsSource({
    send: (m) => {
      if (!process.connected || !process.send) throw new Error('the IPC channel to the primary is closed');
      process.send(m, undefined, {}, () => {});
    },
    // The primary's KDS client bounds each request at 10 s; a VCEK needs its chain and CRL too.
    timeoutMs: 25_000,
  });
  process.on('message', (m: unknown) => void src.receive(m));
  return src;
}

function splitPerSourceCap(lc: ListenerConfig, workers: number): ListenerConfig {
  const limits = { ...lc.limits, maxPendingPerSource: Math.ceil(lc.limits.maxPendingPerSource / workers) };
  // The handshake rate is split the same way: each worker sees about 1/N of a source's connections.
  const rate = lc.limits.maxHandshakesPerSecondPerSource;
  if (rate !== undefined) limits.maxHandshakesPerSecondPerSource = Math.max(1, rate / workers);
  return { ...lc, limits };
}
