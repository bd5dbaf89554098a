/**
 * Collateral from Intel PCS or a PCCS (Intel PCS API v4 paths), with an in-memory and optional
 * on-disk cache keyed by (tee, fmspc, pckCa). Each entry is usable until its effective nextUpdate;
 * after `refreshAfterMs` it is refetched in the background while the cached one keeps serving.
 * When PCCS fails, a cached entry before its nextUpdate is served; after it, the fetch error
 * is thrown (fail closed).
 */
import { join } from 'node:path';
import { CollateralError, ConfigError, RatlsError } from '@ratls/evidence';
import { raceAbort } from '../abort.js';
import { type CacheEntry, cacheKey, readCacheFile, writeCacheFile } from './disk-cache.js';
import { collateralFacts } from './facts.js';
import { collateralFromPcsResponses } from './from-pcs.js';
import { HostThrottle, type HostThrottleOptions, type HostThrottleStatus } from './host-throttle.js';
import { type BoundedGetOptions, boundedGet } from './http.js';
import { RollbackGuard } from './rollback-guard.js';
import type { CollateralRequest, CollateralSource, DcapCollateral } from './types.js';

export interface PccsCollateralSourceOptions {
  /** Per-request timeout covering headers and body. Default 5000 ms. */
  timeoutMs?: number;
  /** Directory for the on-disk cache (created 0700, files 0600). No disk cache when absent. */
  cacheDir?: string;
  /** Injected fetch (tests, proxies). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Largest accepted response body. Default 1 MiB (real TCB info ~7 KiB, CRLs ~3 KiB). */
  maxBodyBytes?: number;
  /** Milliseconds since epoch. Default Date.now. */
  clock?: () => number;
  /** Refetch an entry older than this (ms), serving the cached one meanwhile. Default 1 h. */
  refreshAfterMs?: number;
  /**
   * Also refetch in the background once an entry is this close to its nextUpdate (ms), so a
   * fresh set is in place before the old one stops being usable. Default 24 h.
   */
  refreshBeforeNextUpdateMs?: number;
  /**
   * Per-host request spacing and 429 back-off (Retry-After honoured). Default: no spacing, back-off
   * on 429. Pass a `HostThrottle` to share one budget between sources that talk to one host.
   */
  throttle?: HostThrottle | HostThrottleOptions;
  /**
   * Anti-rollback state file (highest `tcbEvaluationDataNumber` accepted per FMSPC and QE
   * identity). Default `{cacheDir}/tcb-evaluation-numbers.json` with a cache dir, else in memory.
   * Keep it where cache writers cannot write when the cache directory is shared.
   */
  rollbackStatePath?: string;
  /**
   * Which TCB evaluation data to fetch (PCS API v4 `update` parameter on TCB info and QE
   * identity). `early` is Intel's preview of the next TCB recovery: use it beside a `standard`
   * source to see demotions coming (`EarlyTcbWatch`), never as the source that decides. An early
   * source keeps its disk cache and anti-rollback state in `{cacheDir}/early`. Default `standard`.
   */
  update?: 'standard' | 'early';
  /** After a failed fetch, serve a still-valid cached entry without retrying for this long (ms). Default 30 s. */
  retryAfterMs?: number;
  /** Most (tee, fmspc, pckCa) entries kept in memory; the least recently fetched is dropped. Default 1024. */
  maxEntries?: number;
  /**
   * Root CA CRL location. Default `{base}/sgx/certification/v4/rootcacrl` (a PCCS route; Intel
   * PCS itself publishes it at https://certificates.trustedservices.intel.com/IntelSGXRootCA.der).
   */
  rootCaCrlUrl?: string;
}

export interface PccsStatus {
  /** Times in ms since epoch. */
  entries: Array<{
    tee: 'sgx' | 'tdx';
    fmspc: string;
    pckCa: 'processor' | 'platform';
    nextUpdate: number;
    fetchedAt: number;
  }>;
  lastError?: { code: string; message: string; at: number };
  /** False when the most recent PCCS fetch failed (cached entries may still be serving). */
  healthy: boolean;
  /** Monotonic counters since start (for metrics). */
  counters: PccsCounters;
  throttle: HostThrottleStatus;
  /** Highest tcbEvaluationDataNumber accepted per key, and how many older sets were refused. */
  rollback: { seen: Record<string, number>; refused: number };
}

export interface PccsCounters {
  /** getCollateral answered from a usable cached entry. */
  hits: number;
  /** getCollateral had to wait for a fetch. */
  misses: number;
  /** Upstream collateral sets requested (each is four GETs). */
  fetches: number;
  /** Callers that joined a fetch already in flight instead of starting one. */
  coalesced: number;
  /** Background refreshes started (by age or nearness to nextUpdate). */
  refreshes: number;
  /** Fetches that failed. */
  failures: number;
}

const FMSPC_RE = /^[0-9a-fA-F]{12}$/;
const V4_SUFFIX = /\/(?:sgx|tdx)\/certification\/v4\/?$/;

function validateRequest(req: CollateralRequest): void {
  if ((req.tee !== 'sgx' && req.tee !== 'tdx') || (req.pckCa !== 'processor' && req.pckCa !== 'platform')) {
    throw new CollateralError(
      'ERR_COLLATERAL_REQUEST',
      'collateral',
      `collateral request: unsupported tee/pckCa ${String(req.tee)}/${String(req.pckCa)}`,
    );
  }
  if (typeof req.fmspc !== 'string' || !FMSPC_RE.test(req.fmspc)) {
    throw new CollateralError(
      'ERR_COLLATERAL_REQUEST',
      'collateral',
      'collateral request: fmspc must be 6 bytes of hex',
    );
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function text(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: body is not UTF-8`, { cause: e });
  }
}

/** Races a promise against the caller's abort signal without cancelling the shared work. */
function withSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return raceAbort(
    p,
    signal,
    () => new CollateralError('ERR_COLLATERAL_ABORTED', 'collateral', 'collateral request aborted by caller'),
  );
}

/**
 * @example
 * const source = new PccsCollateralSource('https://pccs.internal:8081', { cacheDir: '/var/cache/ratls' })
 * const c = await source.getCollateral({ tee: 'sgx', fmspc: '00606a000000', pckCa: 'platform' })
 */
export class PccsCollateralSource implements CollateralSource {
  readonly baseUrl: string;
  /** `standard` or `early` TCB evaluation data. */
  readonly update: 'standard' | 'early';
  readonly #timeoutMs: number;
  readonly #maxBodyBytes: number;
  readonly #refreshAfterMs: number;
  readonly #refreshBeforeNextUpdateMs: number;
  readonly #throttle: HostThrottle;
  readonly #guard: RollbackGuard;
  readonly #counters: PccsCounters = { hits: 0, misses: 0, fetches: 0, coalesced: 0, refreshes: 0, failures: 0 };
  readonly #retryAfterMs: number;
  readonly #maxEntries: number;
  readonly #cacheDir: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #clock: () => number;
  readonly #rootCaCrlUrl: string;
  readonly #entries = new Map<string, CacheEntry>();
  readonly #diskChecked = new Set<string>();
  readonly #inflight = new Map<string, Promise<CacheEntry>>();
  readonly #failedAt = new Map<string, number>();
  #lastError: PccsStatus['lastError'];
  #lastFetchOk: boolean | undefined;

  constructor(baseUrl: string, opts: PccsCollateralSourceOptions = {}) {
    let u: URL;
    try {
      u = new URL(baseUrl);
    } catch (e) {
      throw new ConfigError('ERR_CONFIG_PCCS_URL', 'config', `PCCS URL ${JSON.stringify(baseUrl)} is not a URL`, {
        cause: e,
      });
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      throw new ConfigError('ERR_CONFIG_PCCS_URL', 'config', `PCCS URL must be http(s), got ${u.protocol}`);
    }
    if (u.search || u.hash)
      throw new ConfigError('ERR_CONFIG_PCCS_URL', 'config', 'PCCS URL must not carry a query or fragment');
    // Accept both "https://host[/prefix]" and the dcap-qvl style ".../sgx/certification/v4".
    this.baseUrl = u.href.replace(/\/+$/, '').replace(V4_SUFFIX, '');
    const positive = (v: number | undefined, d: number, name: string) => {
      const x = v ?? d;
      if (!Number.isFinite(x) || x <= 0)
        throw new ConfigError('ERR_CONFIG_PCCS_OPTION', 'config', `${name} must be a positive number`);
      return x;
    };
    this.#timeoutMs = positive(opts.timeoutMs, 5000, 'timeoutMs');
    this.#maxBodyBytes = positive(opts.maxBodyBytes, 1024 * 1024, 'maxBodyBytes');
    this.#refreshAfterMs = positive(opts.refreshAfterMs, 3_600_000, 'refreshAfterMs');
    this.#retryAfterMs = positive(opts.retryAfterMs, 30_000, 'retryAfterMs');
    this.#refreshBeforeNextUpdateMs = positive(opts.refreshBeforeNextUpdateMs, 86_400_000, 'refreshBeforeNextUpdateMs');
    this.#throttle =
      opts.throttle instanceof HostThrottle ? opts.throttle : new HostThrottle({ clock: opts.clock, ...opts.throttle });
    this.#maxEntries = positive(opts.maxEntries, 1024, 'maxEntries');
    this.update = opts.update ?? 'standard';
    if (this.update !== 'standard' && this.update !== 'early')
      throw new ConfigError('ERR_CONFIG_PCCS_OPTION', 'config', 'update must be standard or early');
    // Early numbers run ahead of standard ones: separate cache and anti-rollback state, or the
    // standard set would be refused as a rollback after the early one was seen.
    this.#cacheDir = opts.cacheDir && this.update === 'early' ? join(opts.cacheDir, 'early') : opts.cacheDir;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    this.#clock = opts.clock ?? Date.now;
    this.#rootCaCrlUrl = opts.rootCaCrlUrl ?? `${this.baseUrl}/sgx/certification/v4/rootcacrl`;
    this.#guard = new RollbackGuard(
      opts.rollbackStatePath ?? (this.#cacheDir ? join(this.#cacheDir, 'tcb-evaluation-numbers.json') : undefined),
    );
  }

  /** The four URLs fetched for a request (for logs and docs). */
  urls(req: CollateralRequest): {
    tcbInfo: string;
    qeIdentity: string;
    pckCrl: string;
    rootCaCrl: string;
    tcbEvaluationDataNumbers: string;
  } {
    const b = this.baseUrl;
    const early = this.update === 'early';
    return {
      tcbInfo: `${b}/${req.tee}/certification/v4/tcb?fmspc=${req.fmspc.toLowerCase()}${early ? '&update=early' : ''}`,
      qeIdentity: `${b}/${req.tee}/certification/v4/qe/identity${early ? '?update=early' : ''}`,
      pckCrl: `${b}/sgx/certification/v4/pckcrl?ca=${req.pckCa}&encoding=der`,
      rootCaCrl: this.#rootCaCrlUrl,
      tcbEvaluationDataNumbers: `${b}/${req.tee}/certification/v4/tcbevaluationdatanumbers${early ? '?update=early' : ''}`,
    };
  }

  async getCollateral(req: CollateralRequest, opts?: { signal?: AbortSignal }): Promise<DcapCollateral> {
    validateRequest(req);
    const key = cacheKey(req);
    const cached = await withSignal(this.#cached(key, req), opts?.signal);
    const now = this.#clock();
    const valid = cached !== undefined && now < cached.nextUpdate;
    if (valid) {
      const failedAt = this.#failedAt.get(key);
      const backingOff = failedAt !== undefined && now - failedAt < this.#retryAfterMs;
      const due =
        now - cached.fetchedAt >= this.#refreshAfterMs || cached.nextUpdate - now <= this.#refreshBeforeNextUpdateMs;
      if (due && !backingOff && !this.#inflight.has(key)) {
        // Stale-while-revalidate, strictly inside nextUpdate: keep serving the cached set while a
        // background fetch replaces it; past nextUpdate the branch below makes callers wait.
        this.#counters.refreshes++;
        this.#fetchShared(key, req).catch(() => {});
      }
      this.#counters.hits++;
      return cached.collateral;
    }
    this.#counters.misses++;
    try {
      return (await withSignal(this.#fetchShared(key, req), opts?.signal)).collateral;
    } catch (e) {
      // The fetch may have failed after another caller's success; re-check the cache.
      const again = this.#entries.get(key);
      if (again && this.#clock() < again.nextUpdate) return again.collateral;
      throw e;
    }
  }

  /** For /healthz and metrics. */
  status(): PccsStatus {
    const entries = [...this.#entries.values()].map((e) => ({
      tee: e.req.tee,
      fmspc: e.req.fmspc.toLowerCase(),
      pckCa: e.req.pckCa,
      nextUpdate: e.nextUpdate,
      fetchedAt: e.fetchedAt,
    }));
    const s: PccsStatus = {
      entries,
      healthy: this.#lastFetchOk !== false,
      counters: { ...this.#counters },
      throttle: this.#throttle.status(),
      rollback: this.#guard.status(),
    };
    if (this.#lastError) s.lastError = { ...this.#lastError };
    return s;
  }

  /** Resolves when no fetch (including background refreshes) is in flight. */
  async whenIdle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight.values()]);
  }

  async #cached(key: string, req: CollateralRequest): Promise<CacheEntry | undefined> {
    const mem = this.#entries.get(key);
    if (mem || !this.#cacheDir || this.#diskChecked.has(key)) return mem;
    // Bounded like the entries: requests for many unknown FMSPCs must not grow memory without limit.
    if (this.#diskChecked.size >= this.#maxEntries * 4) this.#diskChecked.clear();
    this.#diskChecked.add(key);
    let disk = await readCacheFile(this.#cacheDir, req, this.#clock());
    if (disk) {
      try {
        await this.#guard.check(disk.collateral);
      } catch (e) {
        // Someone wrote older collateral into the cache: ignore the file, fetch upstream.
        if (!(e instanceof RatlsError) || e.code !== 'ERR_COLLATERAL_ROLLBACK') throw e;
        this.#lastError = { code: e.code, message: `disk cache: ${e.message}`, at: this.#clock() };
        disk = undefined;
      }
    }
    const raced = this.#entries.get(key);
    if (raced) return raced;
    if (disk) this.#store(key, disk);
    return disk;
  }

  #store(key: string, e: CacheEntry): void {
    this.#entries.delete(key);
    this.#entries.set(key, e);
    while (this.#entries.size > this.#maxEntries) {
      let oldest: string | undefined;
      let t = Number.POSITIVE_INFINITY;
      for (const [k, v] of this.#entries) if (v.fetchedAt < t) [oldest, t] = [k, v.fetchedAt];
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  #fetchShared(key: string, req: CollateralRequest): Promise<CacheEntry> {
    const running = this.#inflight.get(key);
    if (running) {
      this.#counters.coalesced++;
      return running;
    }
    this.#counters.fetches++;
    const p = this.#fetchAndStore(key, req).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #fetchAndStore(key: string, req: CollateralRequest): Promise<CacheEntry> {
    try {
      const collateral = await this.#throttle.run(this.urls(req).tcbInfo, () => this.#fetch4(req));
      const facts = collateralFacts(collateral);
      const expectQe = req.tee === 'tdx' ? 'TD_QE' : 'QE';
      if (facts.tee !== req.tee || facts.fmspc !== req.fmspc.toLowerCase() || facts.qeId !== expectQe) {
        throw new CollateralError(
          'ERR_COLLATERAL_MISMATCH',
          'collateral',
          `PCCS answered ${facts.tee} fmspc ${facts.fmspc} with QE identity ${facts.qeId} for a ${req.tee} request for fmspc ${req.fmspc.toLowerCase()}`,
        );
      }
      await this.#guard.check(collateral);
      await this.#guard.record(collateral);
      const entry: CacheEntry = { req: { ...req }, collateral, fetchedAt: this.#clock(), nextUpdate: facts.nextUpdate };
      this.#store(key, entry);
      this.#failedAt.delete(key);
      this.#lastFetchOk = true;
      if (this.#cacheDir) await writeCacheFile(this.#cacheDir, entry);
      return entry;
    } catch (e) {
      const err =
        e instanceof RatlsError
          ? e
          : new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `PCCS response: ${String(e)}`, { cause: e });
      const at = this.#clock();
      this.#counters.failures++;
      if (this.#failedAt.size >= this.#maxEntries * 4) this.#failedAt.clear();
      this.#failedAt.set(key, at);
      this.#lastFetchOk = false;
      this.#lastError = { code: err.code, message: err.message, at };
      throw err;
    }
  }

  async #fetch4(req: CollateralRequest): Promise<DcapCollateral> {
    const urls = this.urls(req);
    // One failure cancels the sibling requests.
    const group = new AbortController();
    const o: BoundedGetOptions = {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: this.#maxBodyBytes,
      signal: group.signal,
    };
    const get = (url: string, what: string) =>
      boundedGet(url, what, o).catch((e: unknown) => {
        group.abort();
        throw e;
      });
    // The TCB evaluation data numbers only anchor grace windows: a PCCS that does not serve them
    // (older PCCS versions) or fails on them leaves the set without them, and grace fails closed.
    const evalNumbers = boundedGet(urls.tcbEvaluationDataNumbers, 'TCB evaluation data numbers', o)
      .then((r) => {
        const chain = r.headers.get('TCB-Evaluation-Data-Numbers-Issuer-Chain');
        return chain === null ? undefined : { body: text(r.body, 'TCB evaluation data numbers'), chain };
      })
      .catch(() => undefined);
    const [tcb, qe, pck, root, evals] = await Promise.all([
      get(urls.tcbInfo, 'TCB info'),
      get(urls.qeIdentity, 'QE identity'),
      get(urls.pckCrl, 'PCK CRL'),
      get(urls.rootCaCrl, 'Root CA CRL'),
      evalNumbers,
    ]);
    const header = (h: Headers, ...names: string[]) => {
      for (const n of names) {
        const v = h.get(n);
        if (v !== null) return v;
      }
      throw new CollateralError(
        'ERR_COLLATERAL_MISSING',
        'collateral',
        `PCCS response lacks header ${names.join(' / ')}`,
      );
    };
    return collateralFromPcsResponses({
      tcbInfoBody: text(tcb.body, 'TCB info'),
      tcbInfoIssuerChain: header(tcb.headers, 'TCB-Info-Issuer-Chain', 'SGX-TCB-Info-Issuer-Chain'),
      qeIdentityBody: text(qe.body, 'QE identity'),
      qeIdentityIssuerChain: header(qe.headers, 'SGX-Enclave-Identity-Issuer-Chain'),
      pckCrl: pck.body,
      pckCrlIssuerChain: header(pck.headers, 'SGX-PCK-CRL-Issuer-Chain'),
      rootCaCrl: root.body,
      ...(evals ? { tcbEvaluationDataNumbersBody: evals.body, tcbEvaluationDataNumbersIssuerChain: evals.chain } : {}),
    });
  }
}
