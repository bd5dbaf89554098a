/**
 * `startGateway`: composes the gateway's lifecycle. state.ts builds what a reload may replace,
 * listener.ts accepts, appraises and hands off, admin.ts answers /healthz and /metrics, reload.ts
 * serializes reloads and watches files; this file starts them in order, swaps state on reload,
 * drains and closes. See docs/gateway.md, "Internals".
 */
import cluster from 'node:cluster';
import { ConfigError } from '@ratls/evidence';
import { type AuditLog, type AuditSink, createAuditLog } from '@ratls/verifier';
import { RATLS_VERSION } from '../version.js';
import {
  type AdminServer,
  collateralCacheEvents,
  collateralNextUpdates,
  gatewayHealth,
  type Health,
  startAdmin,
} from './admin.js';
import type { CertificateVerify } from './appraiser.js';
import { startPrimary } from './cluster.js';
import { IpcCollateralSource } from './collateral-ipc.js';
import { type GatewayConfig, type HostPort, type ListenerConfig, loadGatewayConfig } from './config/config.js';
import { type AttestedListener, startListener } from './listener.js';
import { defaultLog, type GatewayLog } from './log.js';
import { createGatewayMetrics, type GatewayMetrics, setPolicyHashes } from './metrics.js';
import { type FileWatch, type ReloadResult, serializedReload, watchConfigFiles, watchedFiles } from './reload.js';
import {
  buildState,
  type Credentials,
  type GatewayState,
  listenerView,
  policyHashes,
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
  if (config.workers > 1 && cluster.isPrimary) return startPrimary(configPath, config, opts);
  // A cluster worker: its events go to the primary's one writer, the primary serves admin,
  // watches files and audits reloads; the per-source cap is split between the workers.
  const worker = config.workers > 1 && cluster.isWorker;
  const pccsSource = worker ? collateralViaPrimary(config.trust.collateral) : undefined;
  const buildOpts = { ...opts, ...(pccsSource ? { pccsSource } : {}) };
  let state: GatewayState = await buildState(config, undefined, buildOpts);
  const limits = config.limits;
  const sink: AuditSink = worker
    ? {
        // With the primary gone the channel is closed: a send without a callback would raise an
        // 'error' on the process and end the worker mid-drain. The event cannot be written anywhere
        // then; say so on the operational log instead of crashing.
        callback: (ev) => {
          if (!process.connected || !process.send) {
            log('error', 'audit event dropped: the channel to the primary is closed', { event: ev.event?.action });
            return;
          }
          process.send({ t: 'audit', ev }, undefined, {}, (e) => {
            if (e) log('error', 'audit event dropped: sending to the primary failed', { error: e.message });
          });
        },
      }
    : (opts.auditSink ?? config.audit);
  const audit: AuditLog = createAuditLog({ sink, now: () => new Date(clock()) });
  const metrics = createGatewayMetrics(
    RATLS_VERSION,
    () => collateralNextUpdates(state),
    () => collateralCacheEvents(state),
  );
  setPolicyHashes(metrics, policyHashes(state));

  const listeners: AttestedListener[] = [];
  let closing = false;
  let admin: AdminServer | undefined;
  const health = (): Health =>
    gatewayHealth({
      state,
      listeners: listeners.map((l) => ({ name: l.name, listening: l.listening() })),
      now: clock(),
      version: RATLS_VERSION,
    });
  try {
    for (const own of config.listeners) {
      const lc = worker ? splitPerSourceCap(own, config.workers) : own;
      const view = () => listenerView(state, lc.name);
      const deps = { view, audit, metrics, log, clock, limits, closing: () => closing };
      listeners.push(await startListener(lc, deps));
    }
  } catch (e) {
    await Promise.all(listeners.map((l) => l.stopAccepting()));
    await audit.close();
    throw new ConfigError('ERR_GATEWAY_LISTEN', 'config', `cannot listen: ${(e as Error).message}`, { cause: e });
  }
  if (config.admin && !worker) {
    try {
      admin = await startAdmin(config.admin, { health, metrics });
    } catch (e) {
      await Promise.all(listeners.map((l) => l.stopAccepting()));
      await audit.close();
      throw e;
    }
  }

  const reload = serializedReload({
    configPath,
    load: loadGatewayConfig,
    restartOnly: restartOnlyChanges,
    current: () => state,
    build: (next, old) => buildState(next, old, buildOpts),
    swap: (built) => {
      for (const l of listeners) l.useCredentials(built.credentials.get(l.name) as Credentials);
      state = built;
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
      await admin?.close();
      await audit.flush();
      await audit.close();
    })();
    return closed;
  };

  return { addresses, reload, close, metrics, health };
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

function splitPerSourceCap(lc: ListenerConfig, workers: number): ListenerConfig {
  return { ...lc, limits: { ...lc.limits, maxPendingPerSource: Math.ceil(lc.limits.maxPendingPerSource / workers) } };
}
