/** Collateral from QuoteCollateralV3 JSON files on disk (offline verification, tests, air gaps). */
import { readFile, stat } from 'node:fs/promises';
import { CollateralError, RatlsError } from '@ratls/evidence';
import { collateralFacts } from './facts.js';
import { collateralFromJson, MAX_COLLATERAL_JSON_BYTES } from './json.js';
import type { CollateralRequest, CollateralSource, DcapCollateral } from './types.js';

interface Loaded {
  path: string;
  tee: 'sgx' | 'tdx';
  fmspc: string;
  collateral: DcapCollateral;
}

async function load(path: string): Promise<Loaded> {
  let text: string;
  try {
    const st = await stat(path);
    if (st.size > MAX_COLLATERAL_JSON_BYTES) {
      throw new CollateralError(
        'ERR_COLLATERAL_TOO_LARGE',
        'collateral',
        `${path}: ${st.size} bytes exceeds ${MAX_COLLATERAL_JSON_BYTES}`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (e) {
    if (e instanceof RatlsError) throw e;
    throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `${path}: cannot read collateral file`, {
      cause: e,
    });
  }
  try {
    const collateral = collateralFromJson(text);
    const f = collateralFacts(collateral);
    return { path, tee: f.tee, fmspc: f.fmspc, collateral };
  } catch (e) {
    if (e instanceof RatlsError) {
      throw new CollateralError(e.code, e.step, `${path}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/**
 * Serves collateral from one or more QuoteCollateralV3 JSON files (the layout of
 * `vectors/dcap-cases/*.collateral.json`). Picks the file whose TCB info matches the request's
 * TEE and FMSPC; with a single file and no match it returns that file anyway so the appraiser
 * reports the precise mismatch; otherwise `ERR_COLLATERAL_NOT_FOUND`. Files are read once.
 *
 * @example
 * const source = new FileCollateralSource(['sgx.json', 'tdx.json'])
 * const c = await source.getCollateral({ tee: 'tdx', fmspc: '90c06f000000', pckCa: 'platform' })
 */
export class FileCollateralSource implements CollateralSource {
  readonly paths: readonly string[];
  #loaded: Promise<Loaded[]> | undefined;

  constructor(paths: string[] | string) {
    this.paths = typeof paths === 'string' ? [paths] : [...paths];
    if (this.paths.length === 0) {
      throw new CollateralError('ERR_COLLATERAL_NOT_FOUND', 'collateral', 'FileCollateralSource: no files given');
    }
  }

  async getCollateral(req: CollateralRequest, opts?: { signal?: AbortSignal }): Promise<DcapCollateral> {
    opts?.signal?.throwIfAborted();
    if (!this.#loaded) {
      this.#loaded = Promise.all(this.paths.map(load));
      // A failed load is not cached: the next call retries (the file may have been fixed).
      this.#loaded.catch(() => {
        this.#loaded = undefined;
      });
    }
    const files = await this.#loaded;
    const fmspc = req.fmspc.toLowerCase();
    const hit = files.find((f) => f.tee === req.tee && f.fmspc === fmspc);
    if (hit) return hit.collateral;
    if (files.length === 1) return (files[0] as Loaded).collateral;
    const had = files.map((f) => `${f.path} (${f.tee} ${f.fmspc})`).join(', ');
    throw new CollateralError(
      'ERR_COLLATERAL_NOT_FOUND',
      'collateral',
      `no collateral file for ${req.tee} fmspc ${fmspc}; have: ${had}`,
    );
  }
}
