/**
 * The few facts a collateral source needs from a collateral set, read without verifying it:
 * which TEE and FMSPC the TCB info is for, and when the set stops being usable.
 */
import { CollateralError } from '@ratls/evidence';
import { crlTimes } from './crl.js';
import type { DcapCollateral } from './types.js';

export interface CollateralFacts {
  /** From tcbInfo.id: "TDX" → tdx; "SGX" or absent (TCB info v2) → sgx. */
  tee: 'sgx' | 'tdx';
  /** Lower-case hex. */
  fmspc: string;
  /** QE identity id ("QE", "TD_QE", …). */
  qeId: string;
  /** ms since epoch of each part's nextUpdate, and their minimum. */
  tcbInfoNextUpdate: number;
  qeIdentityNextUpdate: number;
  pckCrlNextUpdate: number;
  rootCaCrlNextUpdate: number;
  nextUpdate: number;
}

function object(text: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: not valid JSON`, { cause: e });
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: not a JSON object`);
  return v as Record<string, unknown>;
}

function isoTime(v: unknown, what: string): number {
  // Intel writes "YYYY-MM-DDThh:mm:ssZ" (PCS API, TCB Info / Enclave Identity appendices).
  if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(v)) {
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `${what}: expected an ISO 8601 UTC time, got ${JSON.stringify(v)?.slice(0, 40)}`,
    );
  }
  const ms = Date.parse(v);
  if (!Number.isFinite(ms))
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', `${what}: time ${v} is out of range`);
  return ms;
}

/**
 * Reads tee, fmspc and the effective nextUpdate (minimum over TCB info, QE identity and both CRLs).
 * @example collateralFacts(c).nextUpdate // ms
 */
export function collateralFacts(c: DcapCollateral): CollateralFacts {
  const tcb = object(c.tcbInfoJson, 'tcbInfo');
  const qe = object(c.qeIdentityJson, 'enclaveIdentity');
  const id = tcb.id;
  let tee: 'sgx' | 'tdx';
  if (id === undefined || id === 'SGX') tee = 'sgx';
  else if (id === 'TDX') tee = 'tdx';
  else
    throw new CollateralError(
      'ERR_COLLATERAL_MALFORMED',
      'collateral',
      `tcbInfo: unknown id ${JSON.stringify(id)?.slice(0, 20)}`,
    );
  if (typeof tcb.fmspc !== 'string' || !/^[0-9a-fA-F]{12}$/.test(tcb.fmspc)) {
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', 'tcbInfo: fmspc is not 6 bytes of hex');
  }
  if (typeof qe.id !== 'string')
    throw new CollateralError('ERR_COLLATERAL_MALFORMED', 'collateral', 'enclaveIdentity: id missing');
  const tcbInfoNextUpdate = isoTime(tcb.nextUpdate, 'tcbInfo.nextUpdate');
  const qeIdentityNextUpdate = isoTime(qe.nextUpdate, 'enclaveIdentity.nextUpdate');
  const pckCrlNextUpdate = crlTimes(c.pckCrl, 'PCK CRL').nextUpdate;
  const rootCaCrlNextUpdate = crlTimes(c.rootCaCrl, 'Root CA CRL').nextUpdate;
  return {
    tee,
    fmspc: tcb.fmspc.toLowerCase(),
    qeId: qe.id,
    tcbInfoNextUpdate,
    qeIdentityNextUpdate,
    pckCrlNextUpdate,
    rootCaCrlNextUpdate,
    nextUpdate: Math.min(tcbInfoNextUpdate, qeIdentityNextUpdate, pckCrlNextUpdate, rootCaCrlNextUpdate),
  };
}
