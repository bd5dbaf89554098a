/**
 * Hot reload: re-read the configuration and every file it names, validate it, and only then
 * swap. Each policy file and each listener's certificate is a part of its own: a part that fails
 * keeps its previous version and is reported, the others are applied (a bad policy edit does not
 * block a certificate rotation). A bad configuration, trust or collateral changes nothing.
 * Reloads are serialized, and triggered by SIGHUP (run.ts), by `gateway.reload()` or by the file
 * watcher below. Each attempt counts in `ratls_reloads_total` (`failed` when any part failed) and
 * is audited: one policy-reload event per policy applied, one failure event per part refused.
 */
import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, type RatlsError, toRatlsError } from '@ratls/evidence';
import type { AuditLog, Policy } from '@ratls/verifier';
import type { GatewayLog } from './log.js';
import { type GatewayMetrics, setPolicyHashes } from './metrics.js';
import type { FailedPart, GatewayState } from './state.js';

/** How one part of a reload went: a policy file, or one listener's certificate and key. */
export interface ReloadPart {
  part: 'policy' | 'certificate';
  source: string;
  listener?: string;
  ok: boolean;
  /** The refusal's code when `ok` is false. */
  code?: string;
}

/**
 * `ok` only when every part applied. With `parts` on a failure, the reload was partial: the parts
 * with `ok: true` are in force, the others kept their previous version. Without `parts`, nothing changed.
 */
export type ReloadResult =
  | { ok: true; policyHashes: string[]; parts: ReloadPart[] }
  | { ok: false; error: RatlsError; parts?: ReloadPart[] };

/** What a reload replaces: the gateway's state, or `ratls client`'s. */
export interface ReloadableState {
  /** The configuration it was built from; `policy` is the default policy's path, when there is one. */
  config: {
    policy?: string | undefined;
    /** Listeners whose certificate is a reload part of its own (the gateway's). */
    listeners?: ReadonlyArray<{ name: string; tls?: { cert: string } }>;
  };
  /** Policies by file path. */
  policies: Map<string, Policy>;
}

export interface ReloadDeps<S extends ReloadableState = GatewayState> {
  configPath: string;
  /** Reads and validates the configuration file (the gateway: `loadGatewayConfig`). */
  load: (path: string) => S['config'];
  /** Why `next` cannot apply without a restart, or undefined (the gateway: `restartOnlyChanges`). */
  restartOnly: (running: S['config'], next: S['config']) => string | undefined;
  /** The state in force. */
  current: () => S;
  /**
   * Builds and validates the next state, part by part (the gateway: state.ts `buildStateParts` with
   * keepOnFailure); `failed` lists the parts that kept their previous version.
   */
  build: (next: S['config'], old: S) => Promise<{ state: S; failed: FailedPart[] }>;
  /** Puts a validated state in force (the gateway: its state and each listener's credentials). */
  swap: (built: S) => void | Promise<void>;
  audit: Pick<AuditLog, 'recordPolicyReload'>;
  metrics: Pick<GatewayMetrics, 'reloads' | 'policyInfo'>;
  log: GatewayLog;
  clock: () => number;
}

/**
 * A reload function whose calls run one after another, so an older read never overwrites a newer one.
 * @example const reload = serializedReload(deps); const r = await reload(); if (!r.ok) console.error(r.error.code);
 */
export function serializedReload<S extends ReloadableState = GatewayState>(
  deps: ReloadDeps<S>,
): () => Promise<ReloadResult> {
  const policyHashes = (st: S): string[] => [...st.policies.values()].map((p) => p.hash);
  const { audit, metrics, log, clock } = deps;
  const reloadNow = async (): Promise<ReloadResult> => {
    const old = deps.current();
    try {
      const next = deps.load(deps.configPath);
      const restart = deps.restartOnly(old.config, next);
      if (restart)
        throw new ConfigError('ERR_GATEWAY_RELOAD_RESTART', 'config', `${restart}: restart the gateway to apply`);
      const { state: built, failed } = await deps.build(next, old);
      // Every part validated or kept: swap. New handshakes use the new credentials and policies at once.
      await deps.swap(built);
      setPolicyHashes(metrics, policyHashes(built));
      metrics.reloads.inc({ result: failed.length === 0 ? 'ok' : 'failed' });
      const refused = (part: 'policy' | 'certificate', source: string) =>
        failed.find((f) => f.part === part && f.source === source);
      const parts: ReloadPart[] = [];
      for (const [path, p] of built.policies) {
        const f = refused('policy', path);
        parts.push({ part: 'policy', source: path, ok: !f, ...(f ? { code: f.error.code } : {}) });
        if (f) continue;
        const prev = old.policies.get(path)?.hash;
        audit.recordPolicyReload({
          ok: true,
          hash: p.hash,
          ...(prev ? { previousHash: prev } : {}),
          source: path,
          at: new Date(clock()),
        });
      }
      for (const l of built.config.listeners ?? []) {
        if (!l.tls) continue;
        const f = refused('certificate', l.tls.cert);
        parts.push({
          part: 'certificate',
          source: l.tls.cert,
          listener: l.name,
          ok: !f,
          ...(f ? { code: f.error.code } : {}),
        });
      }
      for (const f of failed) {
        audit.recordPolicyReload({
          ok: false,
          hash: f.part === 'policy' ? built.policies.get(f.source)?.hash : undefined,
          source: f.source,
          error: { code: f.error.code, message: f.error.message },
          at: new Date(clock()),
        });
        log('error', `reload: ${f.part} refused; its previous version stays in force`, {
          source: f.source,
          ...(f.listener ? { listener: f.listener } : {}),
          code: f.error.code,
          error: f.error.message,
        });
      }
      if (failed.length > 0) {
        const first = failed[0] as FailedPart;
        log('warn', 'reloaded in part', { parts });
        return { ok: false, error: first.error, parts };
      }
      log('info', 'reloaded', { policies: policyHashes(built), parts });
      return { ok: true, policyHashes: policyHashes(built), parts };
    } catch (e) {
      const error = toRatlsError(e, 'ERR_GATEWAY_RELOAD', 'config');
      metrics.reloads.inc({ result: 'failed' });
      audit.recordPolicyReload({
        ok: false,
        hash: old.config.policy !== undefined ? old.policies.get(old.config.policy)?.hash : undefined,
        source: deps.configPath,
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
  let chain: Promise<unknown> = Promise.resolve();
  return () => {
    const next = chain.then(reloadNow);
    chain = next.catch(() => undefined);
    return next;
  };
}

/**
 * The files whose change triggers a reload: the configuration, every policy, every certificate and key.
 * @example watchConfigFiles(watchedFiles(state), () => void reload(), { debounceMs: 300, log })
 */
export function watchedFiles(s: GatewayState): string[] {
  return [
    s.config.source,
    ...s.policies.keys(),
    ...s.config.listeners.flatMap((l) => (l.tls ? [l.tls.cert, l.tls.key] : [])),
  ];
}

export interface FileWatch {
  close(): void;
}

/**
 * Watches the directories of `files` (editors and Kubernetes replace files by rename, which a
 * watch on the file itself misses) and calls `onChange` once per burst of changes.
 * @example const w = watchConfigFiles(['/etc/ratls/gateway.yaml'], () => void reload(), { debounceMs: 300, log }); w.close();
 */
export function watchConfigFiles(
  files: string[],
  onChange: () => void,
  opts: { debounceMs: number; log: GatewayLog },
): FileWatch {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const byDir = new Map<string, Set<string>>();
  for (const f of files) {
    const set = byDir.get(dirname(f)) ?? new Set<string>();
    set.add(basename(f));
    byDir.set(dirname(f), set);
  }
  for (const [dir, names] of byDir) {
    try {
      const w = watch(dir, { persistent: false }, (_ev, file) => {
        if (closed) return;
        // Kubernetes swaps a `..data` symlink; a null name means "something here changed".
        if (file !== null && !names.has(String(file)) && !String(file).startsWith('..')) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(() => {
          timer = undefined;
          onChange();
        }, opts.debounceMs);
        timer.unref();
      });
      w.on('error', (e) => opts.log('warn', 'file watch failed; reload with SIGHUP', { dir, error: e.message }));
      watchers.push(w);
    } catch (e) {
      opts.log('warn', 'cannot watch directory; reload with SIGHUP', { dir, error: (e as Error).message });
    }
  }
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
