/**
 * The verifier's one cache: a bounded LRU whose entries may carry a validity window. Time is always
 * the caller's argument (`at`, unix seconds), never read here, so every cache decision is
 * reproducible with a fixed time. Used for verified collateral, PCK chains, QE reports and whole
 * DCAP results (quote verifier), verified results per certificate (peer verifier) and verified
 * SNP/Nitro chains (`VerifiedChainCache`).
 */
import { createHash } from 'node:crypto';
import type { UnixSeconds } from '../time.js';

/** Half-open validity window `[from, until)` in unix seconds. */
export interface CacheWindow {
  from: UnixSeconds | number;
  until: UnixSeconds | number;
}

interface Entry<V> {
  value: V;
  window: CacheWindow | undefined;
}

/**
 * A bounded least-recently-used map. `maxEntries` 0 caches nothing. An entry stored with a window
 * is returned only for an `at` inside it (and dropped when asked outside it); a windowed entry
 * asked for without `at` is a miss (fail closed: no time, no reuse).
 *
 * @example
 * const c = new Lru<string, string>(2);
 * c.set('a', 'x', { from: 100, until: 200 });
 * c.get('a', 150); // 'x'
 * c.get('a', 200); // undefined (window ended; entry dropped)
 */
export class Lru<K, V> {
  readonly maxEntries: number;
  readonly #map = new Map<K, Entry<V>>();
  hits = 0;
  misses = 0;

  constructor(maxEntries: number) {
    this.maxEntries = Number.isFinite(maxEntries) ? Math.max(0, Math.floor(maxEntries)) : 0;
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value for `key` if present (and, for a windowed entry, `from <= at < until`); marks it recently used. */
  get(key: K, at?: UnixSeconds | number): V | undefined {
    const e = this.#map.get(key);
    if (!e) {
      this.misses++;
      return undefined;
    }
    if (e.window && (at === undefined || at < e.window.from || at >= e.window.until)) {
      this.#map.delete(key);
      this.misses++;
      return undefined;
    }
    // Map keeps insertion order: re-inserting marks the key most recently used.
    this.#map.delete(key);
    this.#map.set(key, e);
    this.hits++;
    return e.value;
  }

  /** Stores `value`; with a window, only when the window is non-empty. Evicts the least recently used. */
  set(key: K, value: V, window?: CacheWindow): void {
    if (this.maxEntries === 0 || (window && !(window.until > window.from))) return;
    this.#map.delete(key);
    this.#map.set(key, { value, window });
    while (this.#map.size > this.maxEntries) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#map.delete(key);
  }

  clear(): void {
    this.#map.clear();
  }
}

/**
 * A bounded cache of verified certificate chains (SNP VCEK chains, Nitro cabundles). It stores only
 * time-independent work (signatures, names, key extraction) with the chain's validity window inside
 * the value; every hit is re-checked against the caller's `at` and trust anchors by the appraiser.
 * Keys are SHA-256 over the exact DER bytes, so a different certificate is always a miss.
 *
 * @example
 * const cache = new VerifiedChainCache();
 * await verifySnpReport(report, { at, vcek, chainCache: cache }); // verifies the chain
 * await verifySnpReport(report2, { at, vcek, chainCache: cache }); // reuses it
 */
export class VerifiedChainCache extends Lru<string, unknown> {
  constructor(maxEntries = 256) {
    super(Math.max(1, maxEntries));
  }

  /** Key over a label and the DER of every certificate, in order. */
  static key(label: string, ders: Uint8Array[]): string {
    const h = createHash('sha256').update(label);
    for (const d of ders) h.update(String(d.length)).update(':').update(d);
    return h.digest('hex');
  }

  /** The cached value, typed by the caller that stored it under this key's label. */
  getAs<T>(key: string): T | undefined {
    return this.get(key) as T | undefined;
  }
}
