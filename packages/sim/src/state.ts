/**
 * The simulation folder: a simulated root CA, PCK Platform CA and TCB signing certificate with
 * their keys, and `state.json` with everything later calls need. `initSimulation` creates it and
 * writes the collateral; `loadSimulation` reads it back.
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { ConfigError, fromHex, ProviderError, toHex } from '@ratls/evidence';
import { writeCollateral } from './collateral.js';
import { FMSPC_SGX, FMSPC_TDX, PCE_ID, PLATFORM_CA_NAME, ROOT_CA_NAME, TCB_SIGNING_NAME } from './constants.js';
import { readSimFile, writeAtomic } from './files.js';
import { loadKey, newKey, type SimKey } from './keys.js';
import { removePckLeaves } from './pck-leaf.js';
import { issueCertificate } from './pki.js';

const DAY = 86_400_000;
export const DEFAULT_COLLATERAL_DAYS = 30;
const MAX_COLLATERAL_DAYS = 3650;
const CA_VALIDITY_DAYS = 3650;

export interface SimCa {
  certPem: string;
  key: SimKey;
}

export interface SimState {
  dir: string;
  /** The simulation's reference time: collateral is valid from `at` − 1 h to `at` + collateralDays. */
  at: Date;
  collateralDays: number;
  fmspc: { sgx: string; tdx: string };
  pceId: string;
  ppid: Uint8Array;
  platformInstanceId: Uint8Array;
  root: SimCa;
  platformCa: SimCa;
  tcbSigning: SimCa;
  /** Serials on the PCK CRL, hex. */
  revokedPckSerials: string[];
  crlNumber: number;
}

interface StateFile {
  version: 1;
  at: string;
  collateralDays: number;
  fmspc: { sgx: string; tdx: string };
  pceId: string;
  ppid: string;
  platformInstanceId: string;
  revokedPckSerials: string[];
  crlNumber: number;
}

const FILES = {
  root: ['root.pem', 'root.key.pem'],
  platformCa: ['pck-platform-ca.pem', 'pck-platform-ca.key.pem'],
  tcbSigning: ['tcb-signing.pem', 'tcb-signing.key.pem'],
} as const;

/** Persists state.json (no secrets in it). */
export async function saveState(s: SimState): Promise<void> {
  const f: StateFile = {
    version: 1,
    at: s.at.toISOString(),
    collateralDays: s.collateralDays,
    fmspc: s.fmspc,
    pceId: s.pceId,
    ppid: toHex(s.ppid),
    platformInstanceId: toHex(s.platformInstanceId),
    revokedPckSerials: s.revokedPckSerials,
    crlNumber: s.crlNumber,
  };
  await writeAtomic(s.dir, 'state.json', `${JSON.stringify(f, null, 2)}\n`);
}

/**
 * Creates a simulated Intel DCAP hierarchy in `dir` and writes `root.pem`, `collateral.json`
 * (SGX), `collateral-tdx.json` (TDX), `state.json` and key files (mode 0600).
 * @example
 * const sim = await initSimulation('/tmp/sim', { at: new Date('2026-01-01T00:00:00Z') });
 * const provider = new SimulatedQuoteProvider(sim, { tee: 'sgx' });
 */
export async function initSimulation(
  dir: string,
  opts: { at?: Date; collateralDays?: number } = {},
): Promise<SimState> {
  const at = new Date(Math.floor((opts.at ?? new Date()).getTime() / 1000) * 1000);
  if (Number.isNaN(at.getTime()))
    throw new ConfigError('ERR_SIM_CONFIG', 'sim', 'initSimulation: `at` is not a valid date');
  const days = opts.collateralDays ?? DEFAULT_COLLATERAL_DAYS;
  if (!Number.isInteger(days) || days < 1 || days > MAX_COLLATERAL_DAYS) {
    throw new ConfigError(
      'ERR_SIM_CONFIG',
      'sim',
      `initSimulation: collateralDays ${days} is not an integer in 1..${MAX_COLLATERAL_DAYS}`,
    );
  }
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await removePckLeaves(dir);
  const notBefore = new Date(at.getTime() - DAY);
  const notAfter = new Date(at.getTime() + CA_VALIDITY_DAYS * DAY);
  const [rootKey, platformKey, tcbKey] = await Promise.all([newKey(), newKey(), newKey()]);
  const root = await issueCertificate({
    subject: ROOT_CA_NAME,
    subjectKey: rootKey,
    issuer: ROOT_CA_NAME,
    issuerKey: rootKey,
    notBefore,
    notAfter,
    ca: true,
    pathLength: 1,
  });
  const platformCa = await issueCertificate({
    subject: PLATFORM_CA_NAME,
    subjectKey: platformKey,
    issuer: ROOT_CA_NAME,
    issuerKey: rootKey,
    notBefore,
    notAfter,
    ca: true,
    pathLength: 0,
  });
  const tcbSigning = await issueCertificate({
    subject: TCB_SIGNING_NAME,
    subjectKey: tcbKey,
    issuer: ROOT_CA_NAME,
    issuerKey: rootKey,
    notBefore,
    notAfter,
    ca: false,
  });
  const state: SimState = {
    dir,
    at,
    collateralDays: days,
    fmspc: { sgx: FMSPC_SGX, tdx: FMSPC_TDX },
    pceId: PCE_ID,
    ppid: new Uint8Array(randomBytes(16)),
    platformInstanceId: new Uint8Array(randomBytes(16)),
    root: { certPem: root, key: rootKey },
    platformCa: { certPem: platformCa, key: platformKey },
    tcbSigning: { certPem: tcbSigning, key: tcbKey },
    revokedPckSerials: [],
    crlNumber: 1,
  };
  for (const k of ['root', 'platformCa', 'tcbSigning'] as const) {
    const [certFile, keyFile] = FILES[k];
    await writeAtomic(dir, certFile, state[k].certPem);
    await writeAtomic(dir, keyFile, state[k].key.pem, true);
  }
  await saveState(state);
  await writeCollateral(state);
  return state;
}

function parseStateFile(dir: string, text: string): StateFile {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json is not JSON`);
  }
  const f = o as Partial<StateFile> | null;
  if (f?.version !== 1)
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json has no version 1`);
  if (typeof f.at !== 'string' || Number.isNaN(Date.parse(f.at)))
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json has no valid "at"`);
  if (!Number.isInteger(f.collateralDays))
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json has no collateralDays`);
  if (typeof f.fmspc?.sgx !== 'string' || typeof f.fmspc?.tdx !== 'string')
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json has no fmspc`);
  if (typeof f.pceId !== 'string' || typeof f.ppid !== 'string' || typeof f.platformInstanceId !== 'string') {
    throw new ProviderError(
      'ERR_SIM_STATE',
      'sim',
      `simulation folder ${dir}: state.json lacks pceId/ppid/platformInstanceId`,
    );
  }
  if (!Array.isArray(f.revokedPckSerials) || !f.revokedPckSerials.every((x) => typeof x === 'string')) {
    throw new ProviderError(
      'ERR_SIM_STATE',
      'sim',
      `simulation folder ${dir}: state.json has no revokedPckSerials list`,
    );
  }
  if (!Number.isInteger(f.crlNumber))
    throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: state.json has no crlNumber`);
  return f as StateFile;
}

/**
 * Reads a simulation folder made by `initSimulation`.
 * @example const sim = await loadSimulation('/tmp/sim')
 */
export async function loadSimulation(dir: string): Promise<SimState> {
  const f = parseStateFile(dir, await readSimFile(dir, 'state.json'));
  const ca = async (k: keyof typeof FILES): Promise<SimCa> => {
    const [certFile, keyFile] = FILES[k];
    const certPem = await readSimFile(dir, certFile);
    try {
      return { certPem, key: await loadKey(await readSimFile(dir, keyFile)) };
    } catch (e) {
      if (e instanceof ProviderError) throw e;
      throw new ProviderError('ERR_SIM_STATE', 'sim', `simulation folder ${dir}: ${keyFile} is not a P-256 key`, {
        cause: e,
      });
    }
  };
  const hex = (s: string, n: number, what: string): Uint8Array => {
    try {
      const b = fromHex(s, what);
      if (b.length === n) return b;
    } catch {
      // fall through to the typed error
    }
    throw new ProviderError(
      'ERR_SIM_STATE',
      'sim',
      `simulation folder ${dir}: state.json ${what} is not ${n} bytes of hex`,
    );
  };
  return {
    dir,
    at: new Date(f.at),
    collateralDays: f.collateralDays,
    fmspc: f.fmspc,
    pceId: f.pceId,
    ppid: hex(f.ppid, 16, 'ppid'),
    platformInstanceId: hex(f.platformInstanceId, 16, 'platformInstanceId'),
    root: await ca('root'),
    platformCa: await ca('platformCa'),
    tcbSigning: await ca('tcbSigning'),
    revokedPckSerials: [...f.revokedPckSerials],
    crlNumber: f.crlNumber,
  };
}
