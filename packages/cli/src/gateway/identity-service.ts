/**
 * The gateway's issuing side (issue 15, docs/identities.md): the authority and the EAR key ring an
 * `identity:` section names, opened once per process. The files are made (once, mode 0600) by
 * the process that starts first: the single gateway, or the cluster primary before it forks, so
 * every worker reads the same CA key and the same EAR keys.
 */
import { join } from 'node:path';
import { authorityFromFiles, ensureAuthorityFiles, type IdentityAuthority } from '../identity/authority.js';
import type { EarKeyRing } from '../identity/ear-keys.js';
import { EarKeyRing as Ring } from '../identity/ear-keys.js';
import { earKeyRingFromDir, ensureEarKeyFile } from '../identity/ear-keys-dir.js';
import type { IdentityConfig } from './config/config.js';

export interface IdentityService {
  config: IdentityConfig;
  ca: IdentityAuthority;
  /** Absent when the section has no `ear:`. */
  ring?: EarKeyRing;
}

function caFiles(c: IdentityConfig): { keyPath: string; certPath: string } {
  return c.ca.kind === 'files'
    ? { keyPath: c.ca.key, certPath: c.ca.cert }
    : { keyPath: join(c.ca.dir, 'ca.key'), certPath: join(c.ca.dir, 'ca.pem') };
}

/**
 * Makes the CA (for `ca: { dir }`) and the first EAR key (for `ear.keysDir`) when absent.
 * @example await prepareIdentityFiles(config.identity, Date.now())
 */
export async function prepareIdentityFiles(c: IdentityConfig, atMs: number): Promise<void> {
  if (c.ca.kind === 'dir') await ensureAuthorityFiles(c.ca.dir, c.trustDomain, atMs);
  if (c.ear?.keysDir) await ensureEarKeyFile(c.ear.keysDir, new Date(atMs));
}

/**
 * Loads the authority and the key ring (the files must exist: `prepareIdentityFiles` first).
 * @example const svc = await openIdentityService(config.identity, Date.now())
 */
export async function openIdentityService(c: IdentityConfig, atMs: number): Promise<IdentityService> {
  const ca = await authorityFromFiles({
    ...caFiles(c),
    trustDomain: c.trustDomain,
    defaultTtlSec: c.defaultTtlSec,
    maxTtlSec: c.maxTtlSec,
    ...(c.factsArc ? { factsArc: c.factsArc } : {}),
  });
  let ring: EarKeyRing | undefined;
  if (c.ear) {
    // A replaced key stays published at least as long as the longest token it may have signed.
    if (c.ear.keysDir) ring = await earKeyRingFromDir(c.ear.keysDir, c.maxTtlSec);
    else {
      ring = new Ring(c.maxTtlSec);
      await ring.rotate(atMs / 1000);
    }
  }
  return { config: c, ca, ...(ring ? { ring } : {}) };
}
