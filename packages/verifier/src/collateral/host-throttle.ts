/**
 * Per-host request budget and back-off for collateral servers. AMD KDS is reported to allow about
 * one VCEK request per 10 s per client address and answers 429 beyond it; Intel PCS throttles
 * too. A throttle spaces requests to one host at least `minIntervalMs` apart and, after a 429 (or
 * any failure), refuses to contact the host until the back-off ends: the server's Retry-After when
 * it gave one, else an exponential delay (never less than the exponential delay, so a
 * server answering `Retry-After: 0` in a loop still backs us off). Callers then serve cached collateral or fail closed;
 * nothing is retried in a loop.
 */
import { RateLimitedError } from './http.js';

export interface HostThrottleOptions {
  /** Least time between two requests to one host (ms). Default 0 (no spacing). */
  minIntervalMs?: number;
  /** Longest a caller waits for its slot before `ERR_COLLATERAL_RATE_LIMITED` (ms). Default 10 000. */
  maxWaitMs?: number;
  /** First back-off after a failure without Retry-After (ms); doubles per failure. Default 1000. */
  baseBackoffMs?: number;
  /** Longest back-off (ms), also the cap on Retry-After. Default 10 min. */
  maxBackoffMs?: number;
  /** ms since epoch. Default Date.now. */
  clock?: () => number;
}

interface HostState {
  /** Earliest time of the next request (spacing). */
  nextSlot: number;
  /** No request before this time (back-off). */
  blockedUntil: number;
  failures: number;
}

export interface HostThrottleStatus {
  hosts: Array<{ host: string; blockedUntil: number; failures: number }>;
  /** Requests refused locally because of a back-off or an exhausted budget. */
  refused: number;
  /** 429 answers seen. */
  rateLimited: number;
}

const sleep = (ms: number, signal: AbortSignal | undefined) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(t);
      reject(signal?.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * @example
 * const throttle = new HostThrottle({ minIntervalMs: 10_000 });
 * const body = await throttle.run('https://kdsintf.amd.com/vcek/…', () => boundedGet(url, 'VCEK', o));
 */
export class HostThrottle {
  readonly #minIntervalMs: number;
  readonly #maxWaitMs: number;
  readonly #baseBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #clock: () => number;
  readonly #hosts = new Map<string, HostState>();
  #refused = 0;
  #rateLimited = 0;

  constructor(o: HostThrottleOptions = {}) {
    this.#minIntervalMs = Math.max(0, o.minIntervalMs ?? 0);
    this.#maxWaitMs = Math.max(0, o.maxWaitMs ?? 10_000);
    this.#baseBackoffMs = Math.max(1, o.baseBackoffMs ?? 1000);
    this.#maxBackoffMs = Math.max(this.#baseBackoffMs, o.maxBackoffMs ?? 600_000);
    this.#clock = o.clock ?? Date.now;
  }

  /**
   * Runs `fn` for a request to `url` when the host's budget allows; a `RateLimitedError` from `fn`
   * backs the host off. Throws
   * `RateLimitedError` without calling `fn` while the host is backed off or the slot is too far.
   */
  async run<T>(url: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const host = new URL(url).host;
    const s = this.#state(host);
    const now = this.#clock();
    if (now < s.blockedUntil) {
      this.#refused++;
      throw new RateLimitedError(
        `collateral host ${host} is backed off for ${s.blockedUntil - now} ms more (after ${s.failures} failure(s))`,
        s.blockedUntil - now,
      );
    }
    const slot = Math.max(now, s.nextSlot);
    if (slot - now > this.#maxWaitMs) {
      this.#refused++;
      throw new RateLimitedError(
        `collateral host ${host}: request budget spent, next slot in ${slot - now} ms (> ${this.#maxWaitMs} ms wait)`,
        slot - now,
      );
    }
    // Reserve the slot before waiting so concurrent callers queue behind each other.
    s.nextSlot = slot + this.#minIntervalMs;
    if (slot > now) await sleep(slot - now, signal);
    try {
      const r = await fn();
      s.failures = 0;
      return r;
    } catch (e) {
      this.#fail(s, e);
      throw e;
    }
  }

  status(): HostThrottleStatus {
    return {
      hosts: [...this.#hosts].map(([host, s]) => ({ host, blockedUntil: s.blockedUntil, failures: s.failures })),
      refused: this.#refused,
      rateLimited: this.#rateLimited,
    };
  }

  #state(host: string): HostState {
    let s = this.#hosts.get(host);
    if (!s) {
      // Hosts are configuration, not peer input; the bound only guards against misuse.
      if (this.#hosts.size >= 1024) this.#hosts.clear();
      s = { nextSlot: 0, blockedUntil: 0, failures: 0 };
      this.#hosts.set(host, s);
    }
    return s;
  }

  #fail(s: HostState, e: unknown): void {
    // Only the server's own "slow down" backs the host off: a 404 for one chip or a timeout says
    // nothing about the budget (per-key retry delays cover those in the sources).
    if (!(e instanceof RateLimitedError)) return;
    this.#rateLimited++;
    s.failures++;
    const exp = Math.min(this.#maxBackoffMs, this.#baseBackoffMs * 2 ** Math.min(s.failures - 1, 30));
    const wait = e.retryAfterMs !== undefined ? Math.min(this.#maxBackoffMs, Math.max(e.retryAfterMs, exp)) : exp;
    s.blockedUntil = Math.max(s.blockedUntil, this.#clock() + wait);
  }
}
