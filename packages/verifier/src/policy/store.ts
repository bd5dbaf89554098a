/**
 * Holds the current policy and replaces it atomically on reload: the new file is fully
 * validated first, so a bad edit never replaces a good policy.
 */
import { EventEmitter } from 'node:events';
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { PolicyError, type RatlsError, toRatlsError } from '@ratls/evidence';
import { loadPolicyFile } from './parse.js';
import type { Policy } from './types.js';

export type ReloadOutcome = { ok: true; hash: string } | { ok: false; error: RatlsError };

export interface PolicyReloadedEvent {
  source: string;
  hash: string;
  previousHash?: string;
  changed: boolean;
}

export interface PolicyReloadFailedEvent {
  source: string;
  error: RatlsError;
  /** The policy still in force. */
  currentHash?: string;
}

export interface PolicyStoreEvents {
  reloaded: [PolicyReloadedEvent];
  'reload-failed': [PolicyReloadFailedEvent];
}

/**
 * @example
 * const store = new PolicyStore();
 * await store.load('/etc/ratls/policy.yaml');
 * store.watch();
 * store.on('reload-failed', (e) => log.warn(e.error.message));
 * evaluatePolicy(store.current(), result);
 */
export class PolicyStore extends EventEmitter<PolicyStoreEvents> {
  #policy: Policy | undefined;
  #path: string | undefined;
  #watcher: FSWatcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #debounceMs = 200;

  constructor(initial?: Policy) {
    super();
    this.#policy = initial;
  }

  /** Loads `path` and makes it current; throws (and keeps the old policy) if it is invalid. */
  async load(path: string): Promise<Policy> {
    const policy = await loadPolicyFile(path);
    const moved = this.#watcher !== undefined && this.#path !== undefined && resolve(this.#path) !== resolve(path);
    this.#path = path;
    this.#policy = policy;
    // Keep watching the file now in force, not the old one.
    if (moved) {
      this.close();
      this.watch({ debounceMs: this.#debounceMs });
    }
    return policy;
  }

  /** The policy in force. Throws PolicyError ERR_POLICY_NOT_LOADED before the first load. */
  current(): Policy {
    if (!this.#policy) throw new PolicyError('ERR_POLICY_NOT_LOADED', 'policy', 'no policy has been loaded');
    return this.#policy;
  }

  /** Re-reads the file given to `load`; swaps only when it validates. Never throws. */
  reload(): Promise<ReloadOutcome> {
    // Serialize reloads so an older read can never overwrite a newer one.
    const next = this.#chain.then(() => this.#reloadNow());
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async #reloadNow(): Promise<ReloadOutcome> {
    const path = this.#path;
    if (path === undefined) {
      const error = new PolicyError(
        'ERR_POLICY_NOT_LOADED',
        'policy',
        'reload before load: no policy file path is known',
      );
      this.emit('reload-failed', { source: '', error });
      return { ok: false, error };
    }
    const previousHash = this.#policy?.hash;
    try {
      const policy = await loadPolicyFile(path);
      this.#policy = policy;
      this.emit('reloaded', {
        source: path,
        hash: policy.hash,
        ...(previousHash !== undefined ? { previousHash } : {}),
        changed: policy.hash !== previousHash,
      });
      return { ok: true, hash: policy.hash };
    } catch (e) {
      const error = toRatlsError(e, 'ERR_POLICY_INVALID', 'policy');
      this.emit('reload-failed', {
        source: path,
        error,
        ...(previousHash !== undefined ? { currentHash: previousHash } : {}),
      });
      return { ok: false, error };
    }
  }

  /**
   * Reloads when the file changes. Watches the directory, not the file, so editors' and
   * Kubernetes' rename-into-place updates are seen. Unref'd: it never keeps the process alive.
   */
  watch(opts: { debounceMs?: number } = {}): void {
    if (this.#watcher) return;
    const path = this.#path;
    if (path === undefined) throw new PolicyError('ERR_POLICY_NOT_LOADED', 'policy', 'watch before load');
    const abs = resolve(path);
    const dir = dirname(abs);
    const name = basename(abs);
    const debounce = opts.debounceMs ?? 200;
    this.#debounceMs = debounce;
    try {
      this.#watcher = fsWatch(dir, { persistent: false }, (_event, file) => {
        // null filename: the platform did not say; `..data`: Kubernetes ConfigMap swap.
        if (file !== null && file !== name && !String(file).startsWith('..')) return;
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#timer = undefined;
          void this.reload();
        }, debounce);
        this.#timer.unref();
      });
    } catch (e) {
      throw new PolicyError('ERR_POLICY_WATCH', 'policy', `${dir}: cannot watch policy directory: ${String(e)}`, {
        cause: e,
      });
    }
    this.#watcher.on('error', (e) => {
      this.emit('reload-failed', { source: path, error: toRatlsError(e, 'ERR_POLICY_WATCH', 'policy') });
    });
    this.#watcher.unref();
  }

  /** Stops watching. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
