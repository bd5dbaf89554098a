/**
 * PCK leaf certificates of the simulated platform, one per (TEE, TCB level): the leaf's SGX
 * extension carries that level's SVNs, so the verifier's TCB matching lands on exactly that level.
 * Issued on first use and kept in the simulation folder (pck-<tee>-<status>.pem / .key.pem) so
 * every quote for a level chains to the same leaf, and `revokePckSerial` can revoke it.
 */
import { createPublicKey } from 'node:crypto';
import { access, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fromHex, nodeCertificateFromDer, readPemOne } from '@ratls/evidence';
import { OID_SGX_EXTENSION, PCK_LEAF_NAME, PLATFORM_CA_NAME, type TcbStatus, tcbLevelFor } from './constants.js';
import { readSimFile, writeAtomic } from './files.js';
import { loadKey, newKey, type SimKey } from './keys.js';
import { encodePckExtension } from './pck-extension.js';
import { issueCertificate, serialOf } from './pki.js';
import type { SimState } from './state.js';

const DAY = 86_400_000;
const PCK_VALIDITY_DAYS = 7 * 365;

export interface PckLeaf {
  certPem: string;
  key: SimKey;
  /** Serial number, lower-case hex. */
  serial: string;
  /** CPUSVN in the certificate (the level's SGX component SVNs). */
  cpuSvn: Uint8Array;
  pceSvn: number;
}

const cache = new WeakMap<SimState, Map<string, Promise<PckLeaf>>>();

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function issue(s: SimState, tee: 'sgx' | 'tdx', status: TcbStatus): Promise<PckLeaf> {
  const level = tcbLevelFor(status);
  const cpuSvn = new Uint8Array(level.sgxComponents);
  const base = `pck-${tee}-${status}`;
  if (await exists(join(s.dir, `${base}.pem`))) {
    const certPem = await readSimFile(s.dir, `${base}.pem`);
    // Reuse only a leaf issued by this folder's current PCK Platform CA.
    if (
      nodeCertificateFromDer(readPemOne(certPem, 'CERTIFICATE')).verify(createPublicKey(s.platformCa.key.privateKey))
    ) {
      const key = await loadKey(await readSimFile(s.dir, `${base}.key.pem`));
      return { certPem, key, serial: serialOf(certPem), cpuSvn, pceSvn: level.pceSvn };
    }
  }
  const key = await newKey();
  const ext = encodePckExtension({
    ppid: s.ppid,
    sgxComponents: level.sgxComponents,
    pceSvn: level.pceSvn,
    cpuSvn,
    pceId: fromHex(s.pceId, 'pceId'),
    fmspc: fromHex(s.fmspc[tee], 'fmspc'),
    // TDX-capable platforms are Scalable SGX (type 1); the classic SGX platform is Standard (0).
    sgxType: tee === 'tdx' ? 1 : 0,
    platformInstanceId: s.platformInstanceId,
  });
  const certPem = await issueCertificate({
    subject: PCK_LEAF_NAME,
    subjectKey: key,
    issuer: PLATFORM_CA_NAME,
    issuerKey: s.platformCa.key,
    notBefore: new Date(s.at.getTime() - DAY),
    notAfter: new Date(s.at.getTime() + PCK_VALIDITY_DAYS * DAY),
    ca: false,
    extra: [{ oid: OID_SGX_EXTENSION, der: ext }],
  });
  await writeAtomic(s.dir, `${base}.key.pem`, key.pem, true);
  await writeAtomic(s.dir, `${base}.pem`, certPem);
  return { certPem, key, serial: serialOf(certPem), cpuSvn, pceSvn: level.pceSvn };
}

/**
 * The PCK leaf for a TEE and TCB level (issued once, then reused).
 * @example const { serial } = await simulatedPckLeaf(sim, 'sgx', 'UpToDate'); await revokePckSerial(sim, serial)
 */
export function simulatedPckLeaf(s: SimState, tee: 'sgx' | 'tdx', status: TcbStatus): Promise<PckLeaf> {
  let m = cache.get(s);
  if (!m) {
    m = new Map();
    cache.set(s, m);
  }
  const k = `${tee}-${status}`;
  let p = m.get(k);
  if (!p) {
    p = issue(s, tee, status);
    m.set(k, p);
    p.catch(() => m?.delete(k));
  }
  return p;
}

/** Removes PCK leaves left by an earlier simulation in the same folder (initSimulation calls it). */
export async function removePckLeaves(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    if (/^pck-(sgx|tdx)-[A-Za-z]+(\.key)?\.pem$/.test(name)) await rm(join(dir, name), { force: true });
  }
}
