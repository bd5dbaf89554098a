import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CollateralError, type SnpProduct, toHex } from '@ratls/evidence';
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

  constructor(baseUrl: string = AMD_KDS_URL, opts: KdsCollateralSourceOptions = {}) {
    this.#base = baseUrl.replace(/\/+$/, '');
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
    this.#cacheDir = opts.cacheDir;
    this.#fetch = opts.fetch ?? globalThis.fetch;
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
    return this.#get(this.vcekUrl(req), `VCEK (${req.product})`, opts.signal);
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

  async #get(url: string, what: string, signal: AbortSignal | undefined, cache = true): Promise<Uint8Array> {
    const key = createHash('sha256').update(url).digest('hex');
    if (cache) {
      const hit = this.#memory.get(key) ?? (await this.#readDisk(key));
      if (hit) {
        this.#memory.set(key, hit);
        return hit;
      }
    }
    const res = await boundedGet(url, `AMD KDS ${what}`, {
      fetch: this.#fetch,
      timeoutMs: this.#timeoutMs,
      maxBodyBytes: MAX_BODY,
      ...(signal ? { signal } : {}),
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
