/**
 * Step: the TCB info belongs to this platform and TEE (QVL 4.1.2.4.9–4.1.2.4.10): its id matches
 * the quote's TEE (a TDX quote needs a v3 TDX TCB info), FMSPC and PCE-ID match the PCK
 * certificate. (The QE identity's id check is in `qe-identity.ts`.)
 */
import { bytesEqual, CollateralError, toHex } from '@ratls/evidence';
import type { PckExtensions } from './pck-extensions.js';
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
