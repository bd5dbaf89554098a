/**
 * Step: the collateral belongs to this platform and TEE (QVL 4.1.2.4.9–4.1.2.4.10, 4.1.2.4.14):
 * TCB info id matches the quote's TEE (a TDX quote needs a v3 TDX TCB info), FMSPC and PCE-ID
 * match the PCK certificate, QE identity id is QE for SGX and TD_QE for TDX.
 */
import { bytesEqual, CollateralError, toHex } from '@ratls/evidence';
import type { PckExtensions } from './pck-extensions.js';
import type { QeIdentity } from './qe-identity.js';
import type { TcbInfo } from './tcb-info.js';

/** Codes: ERR_TCB_INFO_TEE_MISMATCH, ERR_FMSPC_MISMATCH, ERR_PCEID_MISMATCH. */
export function checkTcbInfoMatches(tcbInfo: TcbInfo, ext: PckExtensions, tee: 'sgx' | 'tdx'): void {
  const step = 'tcb-info-match';
  const want = tee === 'tdx' ? 'TDX' : 'SGX';
  if (tcbInfo.id !== want || (tee === 'tdx' && tcbInfo.version < 3)) {
    throw new CollateralError(
      'ERR_TCB_INFO_TEE_MISMATCH',
      step,
      `TCB info is for ${tcbInfo.id} (version ${tcbInfo.version}), but the quote is ${want}`,
    );
  }
  if (!bytesEqual(tcbInfo.fmspc, ext.fmspc)) {
    throw new CollateralError(
      'ERR_FMSPC_MISMATCH',
      step,
      `TCB info FMSPC ${toHex(tcbInfo.fmspc)} does not match the PCK certificate's FMSPC ${toHex(ext.fmspc)}`,
    );
  }
  if (!bytesEqual(tcbInfo.pceId, ext.pceId)) {
    throw new CollateralError(
      'ERR_PCEID_MISMATCH',
      step,
      `TCB info PCEID ${toHex(tcbInfo.pceId)} does not match the PCK certificate's PCEID ${toHex(ext.pceId)}`,
    );
  }
}

/** Code: ERR_QE_IDENTITY_TEE_MISMATCH. */
export function checkQeIdentityTee(qe: QeIdentity, tee: 'sgx' | 'tdx'): void {
  const want = tee === 'tdx' ? 'TD_QE' : 'QE';
  if (qe.id !== want) {
    throw new CollateralError(
      'ERR_QE_IDENTITY_TEE_MISMATCH',
      'qe-identity-match',
      `QE identity id is ${qe.id}, but a ${tee.toUpperCase()} quote needs ${want}`,
    );
  }
}
