/**
 * Step: TCB level selection (QVL 4.1.2.4.17, `matchTcbLevels`). Levels are ordered newest first;
 * the SGX level is the first whose 16 SGX component SVNs and PCESVN are all ≤ the PCK
 * certificate's; for TDX the level must also have every TDX component ≤ TEE_TCB_SVN, compared
 * from byte 2 when TEE_TCB_SVN[1] (the TDX module version) is non-zero, because bytes 0–1 then
 * belong to the TDX module identity.
 */
import { AppraisalError, toHex } from '@ratls/evidence';
import type { PckTcb } from './pck-extensions.js';
import type { TcbInfo, TcbLevel } from './tcb-info.js';

const STEP = 'tcb-level';

function sgxMeets(tcb: PckTcb, l: TcbLevel): boolean {
  for (let i = 0; i < 16; i++) if ((tcb.compSvn[i] as number) < (l.sgxComponents[i] as number)) return false;
  return tcb.pceSvn >= l.pceSvn;
}

function tdxMeets(teeTcbSvn: Uint8Array, l: TcbLevel): boolean {
  const comps = l.tdxComponents;
  if (!comps) return false;
  for (let i = (teeTcbSvn[1] as number) > 0 ? 2 : 0; i < 16; i++) {
    if ((teeTcbSvn[i] as number) < (comps[i] as number)) return false;
  }
  return true;
}

/**
 * Returns the matching level (for TDX, the level matching both SGX and TDX components).
 * Code: ERR_TCB_NOT_SUPPORTED (Intel QVL STATUS_TCB_NOT_SUPPORTED).
 * @example const level = matchTcbLevel(tcbInfo, pck.ext.tcb, tdReport.teeTcbSvn)
 */
export function matchTcbLevel(tcbInfo: TcbInfo, tcb: PckTcb, teeTcbSvn?: Uint8Array): TcbLevel {
  let sgxMatched = false;
  for (const l of tcbInfo.tcbLevels) {
    if (!sgxMeets(tcb, l)) continue;
    if (!teeTcbSvn) return l;
    sgxMatched = true;
    if (tdxMeets(teeTcbSvn, l)) return l;
  }
  const platform = `SGX components [${tcb.compSvn.join(',')}] PCESVN ${tcb.pceSvn}`;
  throw new AppraisalError(
    'ERR_TCB_NOT_SUPPORTED',
    STEP,
    teeTcbSvn && sgxMatched
      ? `no TCB level matches TEE_TCB_SVN ${toHex(teeTcbSvn)} (the SGX TCB, ${platform}, is supported)`
      : `no TCB level of FMSPC ${toHex(tcbInfo.fmspc)} matches the platform's ${platform}`,
  );
}
