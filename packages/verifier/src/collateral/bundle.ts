/**
 * Offline collateral bundles: a directory written on a connected machine (`ratls collateral fetch`)
 * and carried to an air-gapped verifier. Its layout is the on-disk cache's (one
 * `{tee}-{fmspc}-{pckCa}.json` per DCAP key, `kds-*` files for AMD KDS answers) plus a
 * `bundle.json` manifest naming the KDS base URL the answers were fetched from (the KDS files are
 * keyed by URL). Nothing in a bundle is trusted: the appraisers verify every signature, chain,
 * CRL and date as they do for fetched collateral, so a bundle past its nextUpdate stops verifying.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CollateralError } from '@ratls/evidence';
import { readCacheFile } from './disk-cache.js';
import type { CollateralRequest, CollateralSource, DcapCollateral } from './types.js';

const FORMAT = 'ratls-collateral-bundle/1';
const MANIFEST = 'bundle.json';

/** What `bundle.json` says. */
export interface BundleManifest {
  format: typeof FORMAT;
  /** ISO time the bundle was written. */
  created: string;
  /** KDS base URL of the `kds-*` files, when the bundle has SEV-SNP collateral. */
  kdsUrl?: string;
  /** What was fetched, for people reading the bundle. */
  contents: string[];
}

/**
 * Writes (or replaces) the manifest of a bundle directory.
 * @example writeBundleManifest('bundle/', { kdsUrl: AMD_KDS_URL, contents: ['sgx 00606a000000 platform'] }, new Date())
 */
export function writeBundleManifest(dir: string, m: { kdsUrl?: string; contents: string[] }, at: Date): void {
  const body: BundleManifest = { format: FORMAT, created: at.toISOString(), contents: m.contents };
  if (m.kdsUrl) body.kdsUrl = m.kdsUrl;
  writeFileSync(join(dir, MANIFEST), `${JSON.stringify(body, null, 2)}\n`, { mode: 0o644 });
}

/**
 * Reads a bundle's manifest; `ERR_COLLATERAL_FILE` when the directory is not a bundle.
 * @example const m = readBundleManifest('bundle/')
 */
export function readBundleManifest(dir: string): BundleManifest {
  let m: unknown;
  try {
    const path = join(dir, MANIFEST);
    if (statSync(path).size > 1 << 20) throw new Error('manifest too large');
    m = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `${dir}: not a collateral bundle (${MANIFEST})`, {
      cause: e,
    });
  }
  const r = m as Partial<BundleManifest> | null;
  if (r?.format !== FORMAT || (r.kdsUrl !== undefined && typeof r.kdsUrl !== 'string'))
    throw new CollateralError('ERR_COLLATERAL_FILE', 'collateral', `${dir}/${MANIFEST}: not ${FORMAT}`);
  return {
    format: FORMAT,
    created: String(r.created),
    contents: Array.isArray(r.contents) ? r.contents : [],
    ...(r.kdsUrl ? { kdsUrl: r.kdsUrl } : {}),
  };
}

/**
 * DCAP collateral from a bundle directory, never from the network.
 * @example
 * const verifier = createQuoteVerifier({ collateralSource: new BundleCollateralSource('bundle/') });
 */
export class BundleCollateralSource implements CollateralSource {
  readonly dir: string;

  constructor(dir: string) {
    readBundleManifest(dir);
    this.dir = dir;
  }

  async getCollateral(req: CollateralRequest): Promise<DcapCollateral> {
    // `now` only guards the stored fetchedAt; validity is the appraiser's check at its own `at`.
    const e = await readCacheFile(this.dir, req, Number.MAX_SAFE_INTEGER);
    if (!e) {
      throw new CollateralError(
        'ERR_COLLATERAL_NOT_FOUND',
        'collateral',
        `offline bundle ${this.dir} has no collateral for ${req.tee} fmspc ${req.fmspc.toLowerCase()} (${req.pckCa} CA); fetch it with ratls collateral fetch`,
      );
    }
    return e.collateral;
  }
}
