/**
 * The gateway's issuing side (issue 15, docs/identities.md): the authority and the EAR key ring an
 * `identity:` section names, opened once per process. The files are made (once, mode 0600) by
 * the process that starts first: the single gateway, or the cluster primary before it forks, so
 * every worker reads the same CA key and the same EAR keys.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RatlsError } from '@ratls/evidence';
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

/**
 * `gateway --check`: loads the authority and the EAR keys the section names, without writing
 * anything; files a first start would make are reported as warnings.
 * @example const warnings = await checkIdentity(config.identity, Date.now())
 */
export async function checkIdentity(c: IdentityConfig, atMs: number): Promise<string[]> {
  const warnings: string[] = [];
  const { keyPath, certPath } = caFiles(c);
  const fresh = c.ca.kind === 'dir' && !existsSync(keyPath) && !existsSync(certPath);
  if (fresh) warnings.push(`identity CA ${keyPath} and ${certPath} do not exist yet: the first start makes them`);
  const keysDir = c.ear?.keysDir;
  const noKeys = keysDir !== undefined && !existsSync(keysDir);
  if (noKeys) warnings.push(`EAR keys folder ${keysDir} does not exist yet: the first start makes one key`);
  if (fresh) return warnings;
  const svc = await openIdentityService(
    noKeys && c.ear ? { ...c, ear: { issuer: c.ear.issuer, audiences: c.ear.audiences } } : c,
    atMs,
  );
  if (svc.ca.caCert.notAfter.getTime() <= atMs)
    throw new RatlsError(
      'ERR_IDENTITY_CONFIG',
      'identity',
      `identity CA ${certPath} expired ${svc.ca.caCert.notAfter.toISOString()}`,
    );
  if ((statSync(keyPath).mode & 0o077) !== 0)
    warnings.push(`identity CA key ${keyPath} is readable by group or others (chmod 600)`);
  return warnings;
}
