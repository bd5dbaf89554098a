/**
 * The "source" a per-source connection limit counts against. One IPv4 address is one source; an
 * IPv6 source is its /64, because one host is routinely handed a whole /64 (RFC 7934 §6, SLAAC
 * privacy addresses per RFC 8981) and can pick a fresh address per connection inside it. An
 * IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2, what a dual-stack listener
 * reports for IPv4 peers) is the IPv4 address it maps, so one peer never counts twice.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** Group of a peer that has no address (a socket reset before accept finished). */
export const UNKNOWN_SOURCE = 'unknown';

/**
 * The group key of a peer address: the IPv4 address itself, or the IPv6 /64 as `a:b:c:d::/64`.
 * Pure; anything that is not an IP address groups as itself.
 * @example
 * sourceGroup('::ffff:127.0.0.1'); // '127.0.0.1'
 * sourceGroup('2001:db8::ffff:1'); // '2001:db8:0:0::/64'
 */
export function sourceGroup(ip: string | undefined): string {
  if (!ip) return UNKNOWN_SOURCE;
  // A zone index (fe80::1%eth0) names the local interface, not the peer.
  const addr = ip.includes('%') ? ip.slice(0, ip.indexOf('%')) : ip;
  if (isIPv4(addr)) return addr;
  if (!isIPv6(addr)) return addr;
  const h = ipv6Hextets(addr);
  if (h[0] === 0 && h[1] === 0 && h[2] === 0 && h[3] === 0 && h[4] === 0 && h[5] === 0xffff) {
    const a = h[6] as number;
    const b = h[7] as number;
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  return `${h
    .slice(0, 4)
    .map((x) => x.toString(16))
    .join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted quad folded in). */
function ipv6Hextets(addr: string): number[] {
  const parse = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const p of part.split(':')) {
      if (p.includes('.')) {
        const [a, b, c, d] = p.split('.').map(Number) as [number, number, number, number];
        out.push((a << 8) | b, (c << 8) | d);
      } else out.push(Number.parseInt(p, 16));
    }
    return out;
  };
  const gap = addr.indexOf('::');
  if (gap < 0) return parse(addr);
  const head = parse(addr.slice(0, gap));
  const tail = parse(addr.slice(gap + 2));
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

/** Bound on the sources a rate limiter remembers at once (each entry is two numbers). */
export const MAX_RATE_SOURCES = 65_536;

/**
 * Handshakes per second per source, as a token bucket per source group: each group may start
 * `burst` handshakes at once and `perSecond` a second after that. It runs on accept, before any
 * TLS work, because the server's half of a TLS 1.3 handshake (key share, signature) is spent
 * before any appraisal can refuse the peer: a flood from one source must cost a `close`, not a
 * handshake. The map is bounded by `maxSources`: when full, buckets that have refilled (they
 * carry no state worth keeping) are dropped first, and a fresh source that still finds no room
 * is refused (fail closed: it is exactly the many-sources flood the bound exists for).
 * @example
 * const rl = new SourceRateLimiter({ perSecond: 50 });
 * rl.take('127.0.0.1', Date.now()); // true until 50 were taken within a second
 */
export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #max: number;
  /** group → tokens left and the time (ms) they were counted. */
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  /** When the map was last swept: a full map is swept at most once per 100 ms, so a flood of fresh sources costs O(1) each. */
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(o: { perSecond: number; burst?: number; maxSources?: number }) {
    if (!(o.perSecond > 0)) throw new RangeError('perSecond must be positive');
    this.#rate = o.perSecond;
    this.#burst = Math.max(1, o.burst ?? Math.ceil(o.perSecond));
    this.#max = o.maxSources ?? MAX_RATE_SOURCES;
  }

  /** Takes one token for `group` at `nowMs`; false when the group has none left (refuse). */
  take(group: string, nowMs: number): boolean {
    let b = this.#buckets.get(group);
    if (b) {
      // A clock that steps back refills nothing (never a negative count, never a free burst).
      const elapsed = Math.max(0, nowMs - b.at);
      b.tokens = Math.min(this.#burst, b.tokens + (elapsed * this.#rate) / 1000);
      b.at = Math.max(b.at, nowMs);
    } else {
      if (this.#buckets.size >= this.#max && !this.#sweep(nowMs)) return false;
      b = { tokens: this.#burst, at: nowMs };
      this.#buckets.set(group, b);
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Sources currently remembered. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Drops every bucket that would be full again by `nowMs`; true if room was made. */
  #sweep(nowMs: number): boolean {
    if (nowMs - this.#sweptAt < 100) return false;
    this.#sweptAt = nowMs;
    const full = (this.#burst * 1000) / this.#rate;
    for (const [k, b] of this.#buckets) if (nowMs - b.at >= full) this.#buckets.delete(k);
    return this.#buckets.size < this.#max;
  }
}
