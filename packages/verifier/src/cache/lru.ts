/**
 * A bounded LRU of values that are each valid over a time window. Used for verified results
 * (never decisions), keyed by certificate fingerprint.
 */
export class WindowedLru<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; from: number; until: number }>();

  constructor(maxEntries: number) {
    this.#max = Math.max(0, Math.floor(maxEntries));
  }

  get size(): number {
    return this.#map.size;
  }

  /** The value if `at` is inside its window (`from <= at < until`); an entry outside it is dropped. */
  get(key: string, at: number): V | undefined {
    const e = this.#map.get(key);
    if (!e) return undefined;
    if (at < e.from || at >= e.until) {
      this.#map.delete(key);
      return undefined;
    }
    // Re-insert to mark as most recently used (Map keeps insertion order).
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, from: number, until: number): void {
    if (this.#max === 0 || !(until > from)) return;
    this.#map.delete(key);
    this.#map.set(key, { value, from, until });
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
    }
  }

  clear(): void {
    this.#map.clear();
  }
}
