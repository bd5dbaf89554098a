/**
 * On-disk collateral cache entries. A file is only a cache: on load it is re-parsed and its
 * nextUpdate recomputed from the collateral itself (the stored value is never trusted), and
 * anything odd makes the caller ignore the file and refetch. The appraiser re-verifies every
 * signature regardless.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collateralFacts } from './facts.js';
import { collateralFromJson, collateralToJson, MAX_COLLATERAL_JSON_BYTES } from './json.js';
import type { CollateralRequest, DcapCollateral } from './types.js';

const FORMAT = 'ratls-collateral-cache/1';

export interface CacheEntry {
  req: CollateralRequest;
  collateral: DcapCollateral;
  /** ms since epoch. */
  fetchedAt: number;
  /** Effective nextUpdate (ms): the minimum over TCB info, QE identity and both CRLs. */
  nextUpdate: number;
}

export function cacheKey(req: CollateralRequest): string {
  return `${req.tee}-${req.fmspc.toLowerCase()}-${req.pckCa}`;
}

function fileFor(dir: string, req: CollateralRequest): string {
  return join(dir, `${cacheKey(req)}.json`);
}

/** Reads a cache file; returns undefined when absent, unreadable, corrupt, or for another key. */
export async function readCacheFile(dir: string, req: CollateralRequest, now: number): Promise<CacheEntry | undefined> {
  const path = fileFor(dir, req);
  try {
    const st = await stat(path);
    if (!st.isFile() || st.size > MAX_COLLATERAL_JSON_BYTES) return undefined;
    const o = JSON.parse(await readFile(path, 'utf8')) as unknown;
    if (typeof o !== 'object' || o === null) return undefined;
    const r = o as Record<string, unknown>;
    if (r.format !== FORMAT || r.tee !== req.tee || r.fmspc !== req.fmspc.toLowerCase() || r.pckCa !== req.pckCa) {
      return undefined;
    }
    if (typeof r.fetchedAt !== 'number' || !Number.isFinite(r.fetchedAt)) return undefined;
    const collateral = collateralFromJson(r.collateral as Parameters<typeof collateralFromJson>[0]);
    const facts = collateralFacts(collateral);
    if (facts.tee !== req.tee || facts.fmspc !== req.fmspc.toLowerCase()) return undefined;
    // A fetchedAt in the future (clock change, tampering) would suppress refreshes: refresh soon.
    const fetchedAt = r.fetchedAt > now ? 0 : r.fetchedAt;
    return { req, collateral, fetchedAt, nextUpdate: facts.nextUpdate };
  } catch {
    return undefined;
  }
}

/** Writes atomically (temp file, mode 0600, then rename). Returns the error instead of throwing. */
export async function writeCacheFile(dir: string, e: CacheEntry): Promise<Error | undefined> {
  const path = fileFor(dir, e.req);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const body = JSON.stringify({
    format: FORMAT,
    tee: e.req.tee,
    fmspc: e.req.fmspc.toLowerCase(),
    pckCa: e.req.pckCa,
    fetchedAt: e.fetchedAt,
    nextUpdate: e.nextUpdate,
    collateral: collateralToJson(e.collateral),
  });
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, body, { mode: 0o600, flag: 'wx' });
    await rename(tmp, path);
    return undefined;
  } catch (err) {
    await unlink(tmp).catch(() => {});
    return err instanceof Error ? err : new Error(String(err));
  }
}
