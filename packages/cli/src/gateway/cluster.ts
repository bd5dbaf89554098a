/**
 * The cluster primary (`workers: N`, N > 1; docs/gateway.md, "Process model"). Node 20 has no
 * `reusePort`, so the primary holds the listening sockets and hands connections round-robin
 * (SCHED_RR) to N forked workers, which run the whole per-connection path (worker.ts). The
 * primary owns what must be one: the admin server with metrics summed over workers, the audit
 * writer, the collateral source (workers ask it over IPC, collateral-ipc.ts), the early TCB
 * watch (workers forward their accepts, early-ipc.ts), file watching and reload, drain, and
 * restarting a crashed worker.
 */
import cluster, { type Worker } from 'node:cluster';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '@ratls/evidence';
import { createAuditLog, KdsCollateralSource } from '@ratls/verifier';
import { AggregatorRegistry } from 'prom-client';
import { RATLS_VERSION } from '../version.js';
import {
  type AdminServer,
  gatewayHealth,
  gatewayReadiness,
  gatewayWarnings,
  type Health,
  startAdmin,
} from './admin.js';
import { auditWriter, stateMetrics } from './audit-writer.js';
import { answerCollateral, KdsAnswerer } from './collateral-ipc.js';
import { type GatewayConfig, type HostPort, loadGatewayConfig } from './config/config.js';
import { EarlyAskHandler } from './early-ipc.js';
import { earlyTcbMonitor } from './early-tcb.js';
import type { Gateway, StartGatewayOptions } from './gateway.js';
import { defaultLog, LOG_LEVEL_ENV, logLevel } from './log.js';
import { serializedReload, watchConfigFiles, watchedFiles } from './reload.js';
import { buildState, buildStateParts, type GatewayState, restartOnlyChanges } from './state.js';
import type { FromWorker, ToWorker } from './worker.js';

const here = fileURLToPath(import.meta.url);
const WORKER_ENTRY = join(dirname(here), here.endsWith('.ts') ? 'worker-entry.ts' : 'worker-entry.js');
/**
 * Set in a forked worker of the single-file bundle: its entry (main.ts) runs the worker instead
 * of the CLI. The bundle has no worker-entry file beside it, so it forks itself.
 */
export const CLUSTER_WORKER_ENV = 'RATLS_CLUSTER_WORKER';
/** scripts/bundle.mjs replaces this expression with "1" (esbuild define); unset from the sources. */
const BUNDLED = process.env.RATLS_BUNDLED === '1';
/** Bounds on waiting for a worker: start, one metrics or reload answer. */
const START_TIMEOUT_MS = 60_000;
const ANSWER_TIMEOUT_MS = 5_000;

/** The loader flags a worker needs to run the same code (tsx in development), and nothing else. */
function loaderArgs(): string[] {
  const out: string[] = [];
  const a = process.execArgv;
  for (let i = 0; i < a.length; i++) {
    const f = a[i] as string;
    if (f.startsWith('--conditions') || f.startsWith('--enable-source-maps')) out.push(f);
    if ((f === '--conditions' || f === '--import' || f === '--require' || f === '--loader') && i + 1 < a.length) {
      if (f !== '--conditions') out.push(f);
      out.push(a[++i] as string);
    } else if (f.startsWith('--import=') || f.startsWith('--require=') || f.startsWith('--loader=')) out.push(f);
  }
  return out;
}

/**
 * The OpenSSL configuration every worker starts with (`--openssl-config`): no TLS 1.3 session
 * tickets (`NumTickets = 0`). Node's TLS server otherwise builds two tickets per full handshake
 * (OpenSSL's default), about a sixth of a handshake's CPU here, for clients that never resume: a
 * ratls client never does, and a resumed session carries no new evidence. Node 20 has no
 * per-context setting for it (`SSL_OP_NO_TICKET` still sends two stateful tickets; measured in
 * docs/performance.md "Session tickets"), and reads an OpenSSL configuration only at start-up, so
 * the primary gives it to the processes it forks. Node reads only the `nodejs_conf` section (the
 * system's `openssl_conf`, where Debian keeps MinProtocol/CipherString, is not Node's unless it
 * runs with --openssl-shared-config), so this drops nothing Node used.
 */
export const NO_TICKETS_OPENSSL_CONF = `# written by the ratls gateway primary for its workers: no TLS session tickets
nodejs_conf = nodejs_init

[nodejs_init]
ssl_conf = ssl_sect

[ssl_sect]
system_default = system_default_sect

[system_default_sect]
NumTickets = 0
`;

/**
 * `--openssl-config=FILE` for the workers, with FILE written to a private temporary directory
 * (the single-file bundle has no file beside it), or nothing when the operator chose an OpenSSL
 * configuration (`OPENSSL_CONF`, `--openssl-config`): theirs is kept, and said so.
 */
function workerOpensslArgs(log: typeof defaultLog): { args: string[]; dir?: string } {
  const own = process.env.OPENSSL_CONF ?? process.execArgv.find((a) => a.startsWith('--openssl-config'));
  if (own !== undefined) {
    log('info', 'the workers use the OpenSSL configuration given to the gateway; session tickets are as it sets them', {
      opensslConfig: own,
    });
    return { args: [] };
  }
  const dir = mkdtempSync(join(tmpdir(), 'ratls-openssl-'));
  const file = join(dir, 'no-session-tickets.cnf');
  writeFileSync(file, NO_TICKETS_OPENSSL_CONF, { mode: 0o600 });
  return { args: [`--openssl-config=${file}`], dir };
}

/**
 * Forks `config.workers` workers and resolves once each has bound every listener.
 * @example const gw = await startPrimary('/etc/ratls/gateway.yaml', loadGatewayConfig(path), {});
 */
export async function startPrimary(
  configPath: string,
  config: GatewayConfig,
  opts: StartGatewayOptions,
): Promise<Gateway> {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? defaultLog;
  // Validated here first, so a bad configuration fails before any fork; also feeds /healthz.
  let state: GatewayState = await buildState(config, undefined, opts);
  // The incident console sees what the one writer writes, the workers' events included.
  const writer = auditWriter(
    createAuditLog({ sink: opts.auditSink ?? config.audit, now: () => new Date(clock()) }),
    config,
    log,
    true,
    () => state,
  );
  const { audit, consoleHub } = writer;
  // Early TCB warning (issue 17): the one watch of the cluster, fed by every worker's accepts
  // after the primary re-appraised each quote; its gauge is served from this registry only.
  const early = earlyTcbMonitor({ config, verification: () => state.verification, audit, log, clock });
  const earlyAsks = early ? new EarlyAskHandler({ monitor: early, state: () => state, log, clock }) : undefined;
  const metrics = stateMetrics(() => state, clock, early ? () => early.atRiskCounts() : undefined);
  for (const w of gatewayWarnings(state, clock())) log('warn', w.message, { warning: w.kind });

  // One AMD KDS client for every worker (KDS rate-limits), rebuilt only when the URL changes.
  let kdsClient: { url: string; source: KdsCollateralSource } | undefined;
  const kds = new KdsAnswerer(() => {
    const url = state.config.trust.snp?.kds;
    if (!url) return undefined;
    if (kdsClient?.url !== url) kdsClient = { url, source: new KdsCollateralSource(url) };
    return kdsClient.source;
  });

  cluster.schedulingPolicy = cluster.SCHED_RR;
  // From the bundle, `here` is the bundle file itself (import.meta.url is shimmed from __filename).
  const openssl = workerOpensslArgs(log);
  cluster.setupPrimary(
    BUNDLED
      ? { exec: here, args: ['--config', configPath], execArgv: openssl.args }
      : { exec: WORKER_ENTRY, args: ['--config', configPath], execArgv: [...loaderArgs(), ...openssl.args] },
  );
  const ready = new Map<Worker, Record<string, HostPort>>();
  const pending = new Map<number, (m: FromWorker) => void>();
  let nextId = 1;
  let closing = false;
  let restarts = 0;

  const ask = (w: Worker, m: ToWorker & { id: number }): Promise<FromWorker | undefined> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        pending.delete(m.id);
        resolve(undefined);
      }, ANSWER_TIMEOUT_MS);
      pending.set(m.id, (a) => {
        clearTimeout(t);
        resolve(a);
      });
      w.send(m);
    });

  const fork = (): Promise<Worker> =>
    new Promise((resolve, reject) => {
      // The workers log with the primary's level (`--log-level` reached only the primary's argv).
      const w = cluster.fork({ [LOG_LEVEL_ENV]: logLevel(), ...(BUNDLED ? { [CLUSTER_WORKER_ENV]: '1' } : {}) });
      const t = setTimeout(
        () => reject(new Error(`worker ${w.process.pid} not ready in ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS,
      );
      w.on('message', (m: FromWorker) => {
        if (m.t === 'audits') {
          if (Array.isArray(m.evs))
            for (const ev of m.evs) audit.write({ ...ev, process: { pid: w.process.pid as number } });
        } else if (m.t === 'ready') {
          clearTimeout(t);
          ready.set(w, m.addresses);
          resolve(w);
        } else if (m.t === 'failed') {
          clearTimeout(t);
          reject(new ConfigError('ERR_GATEWAY_LISTEN', 'config', `worker: ${m.code}: ${m.message}`));
        } else if (m.t === 'metrics' || m.t === 'reload') pending.get(m.id)?.(m);
        else if (m.t === 'kds') {
          void kds.answer(m).then((a) => {
            if (w.isConnected()) w.send(a, undefined, () => {});
          });
        } else if (m.t === 'early') {
          earlyAsks?.handle(m, w.process.pid as number, (a) => {
            if (w.isConnected()) w.send(a, undefined, () => {});
          });
        } else if (m.t === 'collateral') {
          // The one real source answers every worker: its coalescing and cache make one upstream request per key.
          void answerCollateral(state.collateral, m).then((a) => {
            if (w.isConnected()) w.send(a, undefined, () => {});
          });
        }
      });
      w.once('exit', (code, signal) => {
        clearTimeout(t);
        const wasReady = ready.delete(w);
        if (!wasReady) reject(new Error(`worker ${w.process.pid} exited (${code ?? signal}) before it was ready`));
        if (closing || !wasReady) return;
        // A crash: log it and replace the worker, backing off if crashes repeat.
        const delay = Math.min(100 * 2 ** restarts++, 5_000);
        log('error', 'worker exited; restarting', { pid: w.process.pid, code, signal, delayMs: delay });
        setTimeout(() => {
          if (!closing)
            fork().then(
              (nw) => {
                restarts = 0;
                log('info', 'worker restarted', { pid: nw.process.pid });
              },
              (e: unknown) => log('error', 'worker restart failed', { error: String(e) }),
            );
        }, delay).unref();
      });
    });

  const killAll = () => {
    closing = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    if (openssl.dir) rmSync(openssl.dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(Array.from({ length: config.workers }, fork));
  } catch (e) {
    killAll();
    await audit.close();
    throw e instanceof ConfigError
      ? e
      : new ConfigError('ERR_GATEWAY_LISTEN', 'config', `cannot start workers: ${(e as Error).message}`, { cause: e });
  }

  const metricsText = async (): Promise<string> => {
    const answers = await Promise.all([...ready.keys()].map((w) => ask(w, { t: 'metrics', id: nextId++ })));
    const parts = answers.flatMap((a) => (a?.t === 'metrics' ? [a.json] : []));
    const own = await metrics.registry.getMetricsAsJSON();
    return AggregatorRegistry.aggregate([own, ...parts]).metrics();
  };
  const inputs = () => {
    const bound = new Set([...ready.values()].flatMap((a) => Object.keys(a)));
    return {
      state,
      listeners: state.config.listeners.map((l) => ({ name: l.name, listening: bound.has(l.name) })),
      now: clock(),
      version: RATLS_VERSION,
      ...(early && earlyAsks
        ? { early: { identities: () => early.identities(), dropped: () => earlyAsks.dropped() } }
        : {}),
    };
  };
  const health = (): Health => gatewayHealth(inputs());
  const readiness = (ask: { listener?: string; backend?: boolean } = {}) => gatewayReadiness(inputs(), ask);
  let admin: AdminServer | undefined;
  if (config.admin) {
    try {
      admin = await startAdmin(config.admin, {
        health,
        ready: readiness,
        metrics,
        metricsText,
        ...(config.adminAuth ? { auth: config.adminAuth } : {}),
        ...(consoleHub ? { console: consoleHub } : {}),
        now: clock,
      });
    } catch (e) {
      killAll();
      await audit.close();
      throw e;
    }
  }

  const reload = serializedReload({
    configPath,
    load: loadGatewayConfig,
    restartOnly: restartOnlyChanges,
    current: () => state,
    build: (next, old) => buildStateParts(next, old, opts, true),
    // Validated in full above; each worker then re-reads the same files. A worker refusing
    // (the files changed in between) fails the reload, and it is reported.
    swap: async (built) => {
      const answers = await Promise.all([...ready.keys()].map((w) => ask(w, { t: 'reload', id: nextId++ })));
      state = built;
      const failed = answers.filter((a) => a?.t !== 'reload' || !a.ok);
      if (failed.length > 0) {
        const a = failed[0];
        const why = a?.t === 'reload' ? `${a.code}: ${a.message}` : 'no answer';
        throw new ConfigError(
          'ERR_GATEWAY_RELOAD',
          'config',
          `${failed.length} of ${answers.length} workers did not reload (${why})`,
        );
      }
    },
    audit,
    metrics,
    log,
    clock,
  });
  const watcher =
    opts.watch === false
      ? undefined
      : watchConfigFiles(watchedFiles(state), () => void reload(), { debounceMs: opts.watch?.debounceMs ?? 300, log });

  const addresses = (): Record<string, HostPort> => {
    const out: Record<string, HostPort> = { ...[...ready.values()][0] };
    const a = admin?.address();
    if (a) out.admin = a;
    return out;
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      closing = true;
      watcher?.close();
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      // Each worker drains on its own deadline; a worker that overruns it by far is killed.
      const exited = workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
      for (const w of workers) if (w.isConnected()) w.send({ t: 'drain' } satisfies ToWorker);
      const kill = setTimeout(() => {
        for (const w of workers) w.process.kill('SIGKILL');
      }, config.limits.drainTimeoutMs + 10_000);
      await Promise.all(exited);
      clearTimeout(kill);
      // Every ask a worker sent arrived before its exit (one ordered channel); the appraisals they
      // started finish within the drain deadline or are given up, with a line that says so.
      if (earlyAsks && !(await earlyAsks.whenIdle(config.limits.drainTimeoutMs)))
        log('warn', 'early TCB appraisals still running at shutdown; their warnings are lost');
      await admin?.close();
      await writer.closeReaders();
      await audit.flush();
      await audit.close();
      if (openssl.dir) rmSync(openssl.dir, { recursive: true, force: true });
    })();
    return closed;
  };

  // The audit writer lives here, so rotation (SIGUSR2/SIGHUP reach the primary, run.ts) reopens it here.
  return { addresses, reload, close, metrics, health, ready: readiness, reopenAudit: () => audit.reopen() };
}
