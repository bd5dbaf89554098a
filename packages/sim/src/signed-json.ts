/**
 * Intel's signed collateral JSON: TCB info v3 (SGX and TDX) and QE identity v2, as served by PCS
 * (API v4, "Get TCB Info" / "Get Quoting Enclave Identity"). The exact text produced here is what
 * gets signed; verifiers must check the signature over these bytes, never a re-serialization.
 */
import { toHex } from '@ratls/evidence';
import {
  PCE_ID,
  SIM_QE,
  SIM_QE_ATTRIBUTES,
  SIM_QE_ATTRIBUTES_MASK,
  SIM_QE_ISVSVN,
  SIM_TCB_LEVELS,
  type SimTcbLevel,
  TCB_EVALUATION_DATA_NUMBER,
  TDX_MODULE_MAJOR,
  TDX_MODULE_SVN,
} from './constants.js';

/** Intel's date format: ISO 8601 UTC without milliseconds. */
export function intelDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const upper = (b: Uint8Array): string => toHex(b).toUpperCase();

function sgxComponents(level: SimTcbLevel): { svn: number }[] {
  return level.sgxComponents.map((svn) => ({ svn }));
}

function levelJson(level: SimTcbLevel, tdx: boolean): Record<string, unknown> {
  const tcb: Record<string, unknown> = { sgxtcbcomponents: sgxComponents(level), pcesvn: level.pceSvn };
  if (tdx) tcb.tdxtcbcomponents = level.tdxComponents.map((svn) => ({ svn }));
  const out: Record<string, unknown> = { tcb, tcbDate: level.tcbDate, tcbStatus: level.status };
  if (level.advisoryIds.length > 0) out.advisoryIDs = level.advisoryIds;
  return out;
}

export interface ValidityWindow {
  issueDate: Date;
  nextUpdate: Date;
}

/** Advisory the simulated early set cites for the level it demotes (a made-up, clearly simulated ID). */
export const SIM_EARLY_ADVISORY = 'INTEL-SA-99999';

/**
 * The simulated `update=early` TCB levels: Intel publishes a TCB recovery in the early set before
 * the standard one (PCS API v4, `update` parameter). The early set adds a newer UpToDate level
 * (every SVN + 1) and demotes today's UpToDate level to OutOfDate, as a recovery does.
 */
function earlyLevels(): SimTcbLevel[] {
  const [top, ...rest] = SIM_TCB_LEVELS as [SimTcbLevel, ...SimTcbLevel[]];
  const newer: SimTcbLevel = {
    ...top,
    sgxComponents: top.sgxComponents.map((v, i) => (i < 2 ? v + 1 : v)),
    pceSvn: top.pceSvn + 1,
    tcbDate: '2025-03-13T00:00:00Z',
  };
  return [newer, { ...top, status: 'OutOfDate', advisoryIds: [SIM_EARLY_ADVISORY] }, ...rest];
}

/** TCB info v3 text for the given TEE and FMSPC. */
export function tcbInfoJson(tee: 'sgx' | 'tdx', fmspc: string, w: ValidityWindow, early = false): string {
  const head: Record<string, unknown> = {
    id: tee === 'sgx' ? 'SGX' : 'TDX',
    version: 3,
    issueDate: intelDate(w.issueDate),
    nextUpdate: intelDate(w.nextUpdate),
    fmspc: fmspc.toUpperCase(),
    pceId: PCE_ID,
    tcbType: 0,
    tcbEvaluationDataNumber: TCB_EVALUATION_DATA_NUMBER + (early ? 1 : 0),
  };
  if (tee === 'tdx') {
    // The module signer/attributes the quote's MR_SIGNER_SEAM / SEAM_ATTRIBUTES must match (zero,
    // as for Intel-signed modules); TDX_01 is selected by TEE_TCB_SVN[1] = 1.
    const zero48 = '0'.repeat(96);
    head.tdxModule = { mrsigner: zero48, attributes: '0000000000000000', attributesMask: 'FFFFFFFFFFFFFFFF' };
    head.tdxModuleIdentities = [
      {
        id: `TDX_${TDX_MODULE_MAJOR.toString(16).toUpperCase().padStart(2, '0')}`,
        mrsigner: zero48,
        attributes: '0000000000000000',
        attributesMask: 'FFFFFFFFFFFFFFFF',
        tcbLevels: [
          { tcb: { isvsvn: TDX_MODULE_SVN }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
          { tcb: { isvsvn: TDX_MODULE_SVN - 2 }, tcbDate: '2023-08-09T00:00:00Z', tcbStatus: 'OutOfDate' },
        ],
      },
    ];
  }
  head.tcbLevels = (early ? earlyLevels() : SIM_TCB_LEVELS).map((l) => levelJson(l, tee === 'tdx'));
  return JSON.stringify(head);
}

/** QE identity v2 text (id QE for SGX, TD_QE for TDX). */
export function qeIdentityJson(tee: 'sgx' | 'tdx', w: ValidityWindow, early = false): string {
  const qe = SIM_QE[tee];
  return JSON.stringify({
    id: qe.id,
    version: 2,
    issueDate: intelDate(w.issueDate),
    nextUpdate: intelDate(w.nextUpdate),
    tcbEvaluationDataNumber: TCB_EVALUATION_DATA_NUMBER + (early ? 1 : 0),
    miscselect: '00000000',
    miscselectMask: 'FFFFFFFF',
    attributes: SIM_QE_ATTRIBUTES,
    attributesMask: SIM_QE_ATTRIBUTES_MASK,
    mrsigner: upper(qe.mrSigner),
    isvprodid: qe.isvProdId,
    tcbLevels: [
      { tcb: { isvsvn: SIM_QE_ISVSVN }, tcbDate: '2024-03-13T00:00:00Z', tcbStatus: 'UpToDate' },
      {
        tcb: { isvsvn: SIM_QE_ISVSVN - 2 },
        tcbDate: '2021-11-10T00:00:00Z',
        tcbStatus: 'OutOfDate',
        advisoryIDs: ['INTEL-SA-00615'],
      },
    ],
  });
}

/**
 * Intel's TCB evaluation data numbers (PCS API v4 `tcbevaluationdatanumbers`, model v1) for the
 * simulated levels: one recovery per level date, newest first, numbered down from the TCB info's
 * tcbEvaluationDataNumber, each announced (`tcbRecoveryEventDate`) the day before its `tcbDate`
 * as Intel's are. The early list adds the early set's recovery.
 */
export function tcbEvaluationDataNumbersJson(tee: 'sgx' | 'tdx', w: ValidityWindow, early = false): string {
  const levels = early ? earlyLevels() : [...SIM_TCB_LEVELS];
  const dates = [...new Set(levels.map((l) => l.tcbDate))];
  const top = TCB_EVALUATION_DATA_NUMBER + (early ? 1 : 0);
  return JSON.stringify({
    id: tee === 'sgx' ? 'SGX' : 'TDX',
    version: 1,
    issueDate: intelDate(w.issueDate),
    nextUpdate: intelDate(w.nextUpdate),
    tcbEvalNumbers: dates.map((tcbDate, k) => ({
      tcbEvaluationDataNumber: top - k,
      tcbRecoveryEventDate: intelDate(new Date(Date.parse(tcbDate) - 86_400_000)),
      tcbDate,
    })),
  });
}
