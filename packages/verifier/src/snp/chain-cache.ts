import { createHash } from 'node:crypto';

/**
 * A bounded cache of verified certificate chains (SNP VCEK chains, Nitro cabundles). It stores only
 * time-independent work (signatures, names, key extraction) with the chain's validity window;
 * every hit is re-checked against the caller's `at` and trust anchors by the appraiser.
 * Keys are SHA-256 over the exact DER bytes, so a different certificate is always a miss.
 *
 * @example
 * const cache = new VerifiedChainCache();
 * await verifySnpReport(report, { at, vcek, chainCache: cache }); // verifies the chain
 * await verifySnpReport(report2, { at, vcek, chainCache: cache }); // reuses it
 */
export class VerifiedChainCache {
  readonly #max: number;
  readonly #entries = new Map<string, unknown>();
  hits = 0;
  misses = 0;

  constructor(maxEntries = 256) {
    this.#max = Math.max(1, maxEntries);
  }

  /** Key over a label and the DER of every certificate, in order. */
  static key(label: string, ders: Uint8Array[]): string {
    const h = createHash('sha256').update(label);
    for (const d of ders) h.update(String(d.length)).update(':').update(d);
    return h.digest('hex');
  }

  get<T>(key: string): T | undefined {
    const v = this.#entries.get(key);
    if (v === undefined) {
      this.misses++;
      return undefined;
    }
    // Move to the back: least recently used entries are evicted first.
    this.#entries.delete(key);
    this.#entries.set(key, v);
    this.hits++;
    return v as T;
  }

  set(key: string, value: unknown): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    while (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}
