/**
 * A bounded least-recently-used map keyed by exact bytes (under a small numeric tag), for the
 * imported-key cache (`keys.ts`). Lookups hash the bytes (32-bit FNV-1a) and then compare them
 * in full with the stored copy, so the hash only picks a bucket and never decides a match: a
 * collision costs a compare, never a wrong value. Keying by a latin1 string of the bytes (the
 * earlier form) built a string and a concatenation per lookup, a share of a cold DCAP appraisal.
 * A bucket holds at most `BUCKET_MAX` entries (oldest dropped first), so bytes chosen to collide
 * can only evict each other and a lookup compares a bounded number of entries.
 */
import { bytesEqual } from '@ratls/evidence';

/** Entries one hash bucket keeps (colliding byte strings beyond this evict the bucket's oldest). */
export const BUCKET_MAX = 4;

interface Entry<V> {
  tag: number;
  bytes: Uint8Array;
  value: V;
}

/**
 * 32-bit FNV-1a over `tag` and `bytes`.
 * @example fnv1a(1, new Uint8Array([1, 2, 3])) >>> 0 === fnv1a(1, new Uint8Array([1, 2, 3]))
 */
export function fnv1a(tag: number, bytes: Uint8Array): number {
  let h = (0x811c9dc5 ^ tag) >>> 0;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

/**
 * @example
 * const m = new ExactBytesMap<string>(512); m.set(1, der, 'key'); m.get(1, der) // 'key'
 */
export class ExactBytesMap<V> {
  readonly #buckets = new Map<number, Entry<V>[]>();
  #size = 0;

  constructor(
    readonly max: number,
    readonly hash: (tag: number, bytes: Uint8Array) => number = fnv1a,
  ) {}

  get size(): number {
    return this.#size;
  }

  /** The value stored for exactly (`tag`, `bytes`), made most recently used; undefined if none. */
  get(tag: number, bytes: Uint8Array): V | undefined {
    const h = this.hash(tag, bytes);
    const bucket = this.#buckets.get(h);
    if (bucket === undefined) return undefined;
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i] as Entry<V>;
      if (e.tag === tag && bytesEqual(e.bytes, bytes)) {
        this.#buckets.delete(h);
        this.#buckets.set(h, bucket);
        return e.value;
      }
    }
    return undefined;
  }

  /** Stores `value` under a private copy of `bytes` (a caller editing its array later changes nothing). */
  set(tag: number, bytes: Uint8Array, value: V): void {
    const h = this.hash(tag, bytes);
    let bucket = this.#buckets.get(h);
    if (bucket === undefined) bucket = [];
    else this.#buckets.delete(h);
    for (let i = 0; i < bucket.length; i++) {
      const e = bucket[i] as Entry<V>;
      if (e.tag === tag && bytesEqual(e.bytes, bytes)) {
        bucket.splice(i, 1);
        this.#size--;
        break;
      }
    }
    if (bucket.length >= BUCKET_MAX) {
      bucket.shift();
      this.#size--;
    }
    bucket.push({ tag, bytes: bytes.slice(), value });
    this.#size++;
    this.#buckets.set(h, bucket);
    // Least recently used bucket first out (Map iteration is insertion order), its oldest entry.
    while (this.#size > this.max) {
      const [oldest, b] = this.#buckets.entries().next().value as [number, Entry<V>[]];
      b.shift();
      this.#size--;
      if (b.length === 0) this.#buckets.delete(oldest);
    }
  }
}
