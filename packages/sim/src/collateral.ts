/**
 * Writes the simulated collateral in the QuoteCollateralV3 JSON layout (snake_case, as dcap-qvl
 * and vectors/dcap-cases use): PEM issuer chains leaf first, CRLs as DER hex, TCB info and QE
 * identity as the exact signed JSON strings, signatures raw r‖s hex (ECDSA P-256 / SHA-256).
 */
import { type QuoteCollateralV3Json, toHex } from '@ratls/evidence';
import { PLATFORM_CA_NAME, ROOT_CA_NAME } from './constants.js';
import { writeAtomic } from './files.js';
import { signRaw } from './keys.js';
import { issueCrl } from './pki.js';
import { qeIdentityJson, tcbEvaluationDataNumbersJson, tcbInfoJson } from './signed-json.js';
import type { SimState } from './state.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** The QuoteCollateralV3 JSON layout (a data format shared with the verifier through @ratls/evidence). */
export type SimCollateralJson = QuoteCollateralV3Json;

export const COLLATERAL_FILES = { sgx: 'collateral.json', tdx: 'collateral-tdx.json' } as const;

/**
 * Builds both collateral sets from the state (CRLs list `state.revokedPckSerials`). With
 * `{ early: true }`, the `update=early` set: a TCB recovery that demotes today's UpToDate level to
 * OutOfDate, with tcbEvaluationDataNumber one higher.
 */
export async function buildCollateral(
  s: SimState,
  opts: { early?: boolean } = {},
): Promise<{ sgx: SimCollateralJson; tdx: SimCollateralJson }> {
  const early = opts.early === true;
  const window = {
    issueDate: new Date(s.at.getTime() - HOUR),
    nextUpdate: new Date(s.at.getTime() + s.collateralDays * DAY),
  };
  const crlTimes = { thisUpdate: window.issueDate, nextUpdate: window.nextUpdate, crlNumber: s.crlNumber };
  const rootCrl = await issueCrl({ issuer: ROOT_CA_NAME, issuerKey: s.root.key, revoked: [], ...crlTimes });
  const pckCrl = await issueCrl({
    issuer: PLATFORM_CA_NAME,
    issuerKey: s.platformCa.key,
    revoked: s.revokedPckSerials.map((serial) => ({ serial, at: window.issueDate })),
    ...crlTimes,
  });
  const tcbChain = `${s.tcbSigning.certPem}${s.root.certPem}`;
  const one = (tee: 'sgx' | 'tdx'): SimCollateralJson => {
    const tcbInfo = tcbInfoJson(tee, s.fmspc[tee], window, early);
    const qeIdentity = qeIdentityJson(tee, window, early);
    const enc = new TextEncoder();
    return {
      pck_crl_issuer_chain: `${s.platformCa.certPem}${s.root.certPem}`,
      root_ca_crl: toHex(rootCrl),
      pck_crl: toHex(pckCrl),
      tcb_info_issuer_chain: tcbChain,
      tcb_info: tcbInfo,
      tcb_info_signature: toHex(signRaw(s.tcbSigning.key, enc.encode(tcbInfo))),
      qe_identity_issuer_chain: tcbChain,
      qe_identity: qeIdentity,
      qe_identity_signature: toHex(signRaw(s.tcbSigning.key, enc.encode(qeIdentity))),
    };
  };
  return { sgx: one('sgx'), tdx: one('tdx') };
}

/** (Re)writes `collateral.json` and `collateral-tdx.json` in the simulation folder. */
export async function writeCollateral(s: SimState): Promise<void> {
  const c = await buildCollateral(s);
  await writeAtomic(s.dir, COLLATERAL_FILES.sgx, `${JSON.stringify(c.sgx, null, 1)}\n`);
  await writeAtomic(s.dir, COLLATERAL_FILES.tdx, `${JSON.stringify(c.tdx, null, 1)}\n`);
}

/** A PCS `tcbevaluationdatanumbers` response: body `{"tcbEvaluationDataNumbers":…,"signature":…}` and its issuer chain (PEM). */
export interface SimTcbEvaluationDataNumbers {
  body: string;
  issuerChainPem: string;
}

/**
 * Intel's signed TCB evaluation data numbers for the simulated levels (the grace anchor), signed
 * by the simulated TCB Signing key like the TCB info; `{ early: true }` for the early list.
 * @example const { sgx } = buildTcbEvaluationDataNumbers(state); // serve sgx.body at …/sgx/certification/v4/tcbevaluationdatanumbers
 */
export function buildTcbEvaluationDataNumbers(
  s: SimState,
  opts: { early?: boolean } = {},
): { sgx: SimTcbEvaluationDataNumbers; tdx: SimTcbEvaluationDataNumbers } {
  const window = {
    issueDate: new Date(s.at.getTime() - HOUR),
    nextUpdate: new Date(s.at.getTime() + s.collateralDays * DAY),
  };
  const one = (tee: 'sgx' | 'tdx'): SimTcbEvaluationDataNumbers => {
    const json = tcbEvaluationDataNumbersJson(tee, window, opts.early === true);
    const sig = toHex(signRaw(s.tcbSigning.key, new TextEncoder().encode(json)));
    return {
      body: `{"tcbEvaluationDataNumbers":${json},"signature":"${sig}"}`,
      issuerChainPem: `${s.tcbSigning.certPem}${s.root.certPem}`,
    };
  };
  return { sgx: one('sgx'), tdx: one('tdx') };
}
