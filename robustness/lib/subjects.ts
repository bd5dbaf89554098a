/**
 * What the mutation corpus mutates: every real DCAP case that verifies, the quotes of the CCC
 * Gramine certificate, that certificate itself, and simulated SGX/TDX quotes and certificates.
 * `prepareSimulation` writes the simulated material to a folder once, so every worker thread
 * loads the very same bytes (the plan of mutants is computed from them).
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildRaTlsCertificate, exportPrivateKeyPem, generateKeyPair } from '@ratls/attester';
import { extractEvidence } from '@ratls/evidence';
import { initSimulation, SimulatedQuoteProvider } from '@ratls/sim';
import { dcapCases, readVector, readVectorText } from '@ratls/test-support/vectors';
import { certificateDer, type TrustAnchor, trustAnchorFrom } from '@ratls/verifier';

export interface QuoteSubject {
  name: string;
  quote: Uint8Array;
  /** QuoteCollateralV3 JSON text. */
  collateral: string;
  /** Name of the collateral set (for splices). */
  collateralName: string;
  at: number;
  /** Interval (unix seconds) in which this quote and collateral verify. */
  window: [number, number];
  tee: 'sgx' | 'tdx';
  anchors?: TrustAnchor[];
}

export interface CertSubject {
  name: string;
  der: Uint8Array;
  collateral: string;
  at: number;
  anchors?: TrustAnchor[];
  /** The certificate's private key and hash, when we can re-sign it (simulated certificates). */
  key?: KeyObject;
  hash?: 'sha256' | 'sha384';
}

export interface Subjects {
  quotes: QuoteSubject[];
  certs: CertSubject[];
  /** Every collateral set by name, with the FMSPC/TEE facts splices need. */
  collaterals: Map<string, string>;
}

/** The simulation's reference time; certificates are made at SIM_AT and verified 10 min later. */
export const SIM_AT = Date.parse('2026-03-01T12:00:00Z');
export const SIM_VERIFY_AT = SIM_AT / 1000 + 600;
/** The time at which the CCC Gramine certificate verifies with auto_sgx_2025-08. */
export const GRAMINE_AT = 1756530546;
/** MANIFEST §5.1: window of the Gramine quotes with the 2025-08 collateral. */
const GRAMINE_WINDOW: [number, number] = [
  Date.parse('2025-08-15T05:41:26Z') / 1000,
  Date.parse('2025-09-14T04:36:46Z') / 1000,
];
const GRAMINE_COLLATERAL = 'dcap-cases/auto_sgx_2025-08.collateral.json';

const SIM_VARIANTS = [
  { name: 'sim-sgx-v3', tee: 'sgx', quoteVersion: undefined },
  { name: 'sim-tdx-v4', tee: 'tdx', quoteVersion: 4 },
  { name: 'sim-tdx-v5', tee: 'tdx', quoteVersion: 5 },
] as const;

/** Creates a simulated hierarchy and one certificate per variant in `dir`. */
export async function prepareSimulation(dir: string): Promise<void> {
  const sim = await initSimulation(dir, { at: new Date(SIM_AT) });
  for (const v of SIM_VARIANTS) {
    const keyPair = await generateKeyPair('P-256');
    const provider = new SimulatedQuoteProvider(sim, {
      tee: v.tee,
      ...(v.quoteVersion ? { quoteVersion: v.quoteVersion } : {}),
    });
    const cert = await buildRaTlsCertificate({ keyPair, provider, clock: () => SIM_AT });
    await writeFile(join(dir, `${v.name}.pem`), cert.pem);
    await writeFile(join(dir, `${v.name}.key.pem`), exportPrivateKeyPem(keyPair), { mode: 0o600 });
  }
}

function collateralName(path: string): string {
  return path.replace(/^dcap-cases\//, '').replace(/\.collateral\.json$/, '');
}

/** Loads every subject; `simDir` must have been filled by `prepareSimulation`. */
export async function loadSubjects(simDir: string): Promise<Subjects> {
  const collaterals = new Map<string, string>();
  const quotes: QuoteSubject[] = [];
  for (const c of dcapCases()) {
    const name = collateralName(c.collateral);
    if (!collaterals.has(name)) collaterals.set(name, readVectorText(c.collateral));
    if (!c.expect.ok) continue;
    quotes.push({
      name: c.name,
      quote: readVector(c.quote),
      collateral: collaterals.get(name) as string,
      collateralName: name,
      at: c.at,
      window: c.window,
      tee: c.tee === 'SGX' ? 'sgx' : 'tdx',
    });
  }
  const gramineDer = certificateDer(readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem'));
  const gramineCollateral = readVectorText(GRAMINE_COLLATERAL);
  for (const [i, ev] of extractEvidence(gramineDer).entries()) {
    quotes.push({
      name: `gramine-cert#${i}:${ev.format}`,
      quote: ev.evidence,
      collateral: gramineCollateral,
      collateralName: collateralName(GRAMINE_COLLATERAL),
      at: GRAMINE_AT,
      window: GRAMINE_WINDOW,
      tee: 'sgx',
    });
  }
  const certs: CertSubject[] = [
    { name: 'gramine-cert', der: gramineDer, collateral: gramineCollateral, at: GRAMINE_AT },
  ];

  const anchors = [trustAnchorFrom(await readFile(join(simDir, 'root.pem'), 'utf8'))];
  const simCollateral = {
    sgx: await readFile(join(simDir, 'collateral.json'), 'utf8'),
    tdx: await readFile(join(simDir, 'collateral-tdx.json'), 'utf8'),
  };
  collaterals.set('sim-sgx', simCollateral.sgx);
  collaterals.set('sim-tdx', simCollateral.tdx);
  for (const v of SIM_VARIANTS) {
    const der = certificateDer(await readFile(join(simDir, `${v.name}.pem`), 'utf8'));
    const key = createPrivateKey(await readFile(join(simDir, `${v.name}.key.pem`), 'utf8'));
    const [ev] = extractEvidence(der);
    if (!ev) throw new Error(`${v.name}: no evidence`);
    const collateral = simCollateral[v.tee];
    quotes.push({
      name: v.name,
      quote: ev.evidence,
      collateral,
      collateralName: `sim-${v.tee}`,
      at: SIM_VERIFY_AT,
      // initSimulation: collateral valid from at − 1 h to at + 30 days; certificates longer.
      window: [SIM_AT / 1000 - 3600, SIM_AT / 1000 + 30 * 86400],
      tee: v.tee,
      anchors,
    });
    certs.push({ name: v.name, der, collateral, at: SIM_VERIFY_AT, anchors, key, hash: 'sha256' });
  }
  return { quotes, certs, collaterals };
}
