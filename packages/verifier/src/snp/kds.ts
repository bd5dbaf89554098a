import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CollateralError, type SnpProduct, toHex } from '@ratls/evidence';
import { raceAbort } from '../abort.js';
import { HostThrottle, type HostThrottleOptions, type HostThrottleStatus } from '../collateral/host-throttle.js';
import { boundedGet } from '../collateral/http.js';
import type { SnpCollateralSource, SnpVcekRequest } from './collateral.js';
import { SNP_MAX_CHAIN_PEM } from './x509util.js';

export interface KdsCollateralSourceOptions {
  /** Whole-exchange timeout per request. Default 10 s. */
  timeoutMs?: number;
  /** Directory for an on-disk cache (VCEKs and chains are immutable for a given URL). */
  cacheDir?: string;
  /** Injected fetch (tests, proxies). Default: global fetch. */
  fetch?: typeof fetch;
  /**
   * Budget for VCEK requests per KDS host. Default one request per 10 s (AMD KDS is reported to
   * allow about that per client address), a caller waits at most 10 s for its slot, and a 429
   * backs off for its Retry-After. Pass a `HostThrottle` to share the budget between sources.
   */
  vcekThrottle?: HostThrottle | HostThrottleOptions;
  /** Back-off for cert_chain and CRL requests (no spacing by default; 429 backs off). */
  throttle?: HostThrottle | HostThrottleOptions;
  /** ms since epoch, for the throttles. Default Date.now. */
  clock?: () => number;
  /**
   * Air-gapped: answer only from `cacheDir` (an offline bundle written by `ratls collateral fetch`)
   * and never open a connection; a miss is `ERR_COLLATERAL_NOT_FOUND`.
   */
  offline?: boolean;
}

export interface KdsStatus {
  /** Requests sent to KDS. */
  fetches: number;
  /** Callers that joined a request already in flight. */
  coalesced: number;
  /** Answers from the memory or disk cache. */
  hits: number;
  vcek: HostThrottleStatus;
  other: HostThrottleStatus;
}

/** Races shared work against one caller's signal without cancelling the work for the others. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return raceAbort(
    p,
    signal,
    () => new CollateralError('ERR_COLLATERAL_ABORTED', 'collateral', 'AMD KDS request aborted by caller'),
  );
}

/** AMD's public Key Distribution Service. */
export const AMD_KDS_URL = 'https://kdsintf.amd.com';
const MAX_BODY = 64 * 1024;
const spl = (n: number): string => String(n).padStart(2, '0');

/**
 * AMD KDS client (AMD VCEK/KDS spec #57230 §4): VCEK `GET /vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..
 * &snpSPL=..&ucodeSPL=..` (DER; Turin adds fmcSPL and uses an 8-byte hwid), chains
 * `GET /{vcek|vlek}/v1/{product}/cert_chain` (PEM) and CRLs `GET /{vcek|vlek}/v1/{product}/crl` (DER).
 * Answers are cached in memory and, with `cacheDir`, on disk. KDS rate-limits: cache is not optional in practice.
 *
 * @example
 * const kds = new KdsCollateralSource(AMD_KDS_URL, { timeoutMs: 5000, cacheDir: '/var/cache/ratls/kds' });
 * await verifySnpReport(report, { at: new Date(), kds });
 */
export class KdsCollateralSource implements SnpCollateralSource {
  readonly #base: string;
  readonly #timeoutMs: number;
  readonly #cacheDir: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #memory = new Map<string, Uint8Array>();
  readonly #offline: boolean;
  readonly #inflight = new Map<string, Promise<Uint8Array>>();
  readonly #vcekThrottle: HostThrottle;
  readonly #throttle: HostThrottle;
  #fetches = 0;
  #coalesced = 0;
  #hits = 0;

  constructor(baseUrl: string = AMD_KDS_URL, opts: KdsCollateralSourceOptions = {}) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#cacheDir = opts.cacheDir;
    this.#fetch = opts.fetch ?? globalThis.fetch;
    const clock = opts.clock ?? Date.now;
    this.#offline = opts.offline === true;
    this.#vcekThrottle =
      opts.vcekThrottle instanceof HostThrottle
        ? opts.vcekThrottle
        : new HostThrottle({ minIntervalMs: 10_000, maxWaitMs: 10_000, clock, ...opts.vcekThrottle });
    this.#throttle =
      opts.throttle instanceof HostThrottle ? opts.throttle : new HostThrottle({ clock, ...opts.throttle });
  }

  /** Counters and throttle state (for metrics and /healthz). */
  status(): KdsStatus {
    return {
      fetches: this.#fetches,
      coalesced: this.#coalesced,
      hits: this.#hits,
      vcek: this.#vcekThrottle.status(),
      other: this.#throttle.status(),
    };
  }

  /** The VCEK URL for a request (exposed for logs and tests). */
  vcekUrl(req: SnpVcekRequest): string {
    const t = req.tcb;
    const turin = req.product === 'Turin';
    const hwid = toHex(turin ? req.chipId.subarray(0, 8) : req.chipId);
    const q = [
      ...(turin ? [`fmcSPL=${spl(t.fmc ?? 0)}`] : []),
      `blSPL=${spl(t.bootloader)}`,
      `teeSPL=${spl(t.tee)}`,
      `snpSPL=${spl(t.snp)}`,
      `ucodeSPL=${spl(t.microcode)}`,
    ].join('&');
    return `${this.#base}/vcek/v1/${req.product}/${hwid}?${q}`;
  }

  async getVcek(req: SnpVcekRequest, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    return this.#get(this.vcekUrl(req), `VCEK (${req.product})`, opts.signal, true, this.#vcekThrottle);
  }

  async getCertChain(product: SnpProduct, kind: 'vcek' | 'vlek', opts: { signal?: AbortSignal } = {}): Promise<string> {
    const body = await this.#get(
      `${this.#base}/${kind}/v1/${product}/cert_chain`,
      `${kind.toUpperCase()} cert_chain (${product})`,
      opts.signal,
    );
    if (body.length > SNP_MAX_CHAIN_PEM) {
      throw new CollateralError(
        'ERR_COLLATERAL_TOO_LARGE',
        'collateral',
        `KDS cert_chain: ${body.length} bytes is too large`,
      );
    }
    return Buffer.from(body).toString('utf8');
  }

  async getCrl(product: SnpProduct, kind: 'vcek' | 'vlek', opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    // CRLs change; they are fetched every time (callers cache by nextUpdate).
    return this.#get(
      `${this.#base}/${kind}/v1/${product}/crl`,
      `${kind.toUpperCase()} CRL (${product})`,
      opts.signal,
      false,
    );
  }

  async #get(
    url: string,
    what: string,
    signal: AbortSignal | undefined,
    cache = true,
    throttle: HostThrottle = this.#throttle,
  ): Promise<Uint8Array> {
    const key = createHash('sha256').update(url).digest('hex');
    if (cache) {
      const hit = this.#memory.get(key) ?? (await this.#readDisk(key));
      if (hit) {
        this.#hits++;
        this.#memory.set(key, hit);
        return hit;
      }
    }
    if (this.#offline) {
      throw new CollateralError(
        'ERR_COLLATERAL_NOT_FOUND',
        'collateral',
        `AMD KDS ${what}: not in the offline bundle ${this.#cacheDir ?? '(no directory)'} (${url})`,
      );
    }
    // Concurrent callers for one URL share one request (one VCEK request per chip and TCB, however
    // many handshakes arrive at once). The shared request is not tied to any one caller's signal.
    const running = this.#inflight.get(key);
    if (running) {
      this.#coalesced++;
      return raceSignal(running, signal);
    }
    const p = throttle.run(url, () => this.#download(url, what, key, cache)).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return raceSignal(p, signal);
  }

  async #download(url: string, what: string, key: string, cache: boolean): Promise<Uint8Array> {
    this.#fetches++;
    const res = await boundedGet(url, `AMD KDS ${what}`, {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: MAX_BODY,
    });
    if (res.body.length === 0)
      throw new CollateralError('ERR_COLLATERAL_EMPTY', 'collateral', `AMD KDS ${what}: empty body from ${url}`);
    if (cache) {
      this.#memory.set(key, res.body);
      await this.#writeDisk(key, res.body);
    }
    return res.body;
  }

  async #readDisk(key: string): Promise<Uint8Array | undefined> {
    if (!this.#cacheDir) return undefined;
    try {
      const b = await readFile(join(this.#cacheDir, `kds-${key}`));
      return b.length > 0 && b.length <= MAX_BODY ? new Uint8Array(b) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Best effort: a cache that cannot be written only costs a refetch. Atomic rename so readers never see half a file. */
  async #writeDisk(key: string, body: Uint8Array): Promise<void> {
    if (!this.#cacheDir) return;
    try {
      await mkdir(this.#cacheDir, { recursive: true });
      const tmp = join(this.#cacheDir, `.kds-${key}.${process.pid}.tmp`);
      await writeFile(tmp, body);
      await rename(tmp, join(this.#cacheDir, `kds-${key}`));
    } catch {
      // ignored: see above
    }
  }
}
