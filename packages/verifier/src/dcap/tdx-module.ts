/**
 * Step: the TDX module (QVL 4.1.2.4.11 and `checkTdxModuleTcbStatus`). TEE_TCB_SVN[1] is the
 * module's major version; when non-zero the TCB info's `tdxModuleIdentities` entry `TDX_%02X`
 * supplies MRSIGNER, attributes and TCB levels (matched by ISVSVN = TEE_TCB_SVN[0]); when zero
 * the plain `tdxModule` identity applies and carries no TCB levels of its own.
 */
import { AppraisalError, bytesEqual, type TdReportBody, toHex } from '@ratls/evidence';
import type { TcbStatus } from '../result.js';
import type { TcbInfo, TdxModule, TdxModuleIdentity } from './tcb-info.js';

const STEP = 'tdx-module';

export interface TdxModuleResult {
  /** `TDX_%02X`, or undefined for module version 0. */
  id?: string;
  status: TcbStatus;
  advisoryIds: string[];
}

/** Finds `TDX_%02X` (case-insensitive, as QVL). */
export function findTdxModuleIdentity(tcbInfo: TcbInfo, version: number): TdxModuleIdentity | undefined {
  const want = `TDX_${version.toString(16).toUpperCase().padStart(2, '0')}`;
  return tcbInfo.tdxModuleIdentities?.find((m) => m.id.toUpperCase() === want);
}

/**
 * Checks MRSIGNERSEAM and SEAMATTRIBUTES against the module identity and returns the module's
 * TCB status. Codes: ERR_TDX_MODULE_MISMATCH, ERR_TCB_NOT_SUPPORTED (step tdx-module).
 * @example const m = checkTdxModule(report, tcbInfo); m.id === 'TDX_01'
 */
export function checkTdxModule(report: TdReportBody, tcbInfo: TcbInfo): TdxModuleResult {
  const version = report.teeTcbSvn[1] as number;
  const isvSvn = report.teeTcbSvn[0] as number;
  let identity: TdxModule | undefined = tcbInfo.tdxModule;
  let withLevels: TdxModuleIdentity | undefined;
  if (version > 0) {
    withLevels = findTdxModuleIdentity(tcbInfo, version);
    if (!withLevels)
      throw new AppraisalError(
        'ERR_TDX_MODULE_MISMATCH',
        STEP,
        `TDX module: TCB info has no identity TDX_${toHex(new Uint8Array([version])).toUpperCase()}`,
      );
    identity = withLevels;
  }
  if (!identity)
    throw new AppraisalError('ERR_TDX_MODULE_MISMATCH', STEP, 'TDX module: TCB info has no tdxModule identity');
  if (!bytesEqual(report.mrSignerSeam, identity.mrSigner)) {
    throw new AppraisalError(
      'ERR_TDX_MODULE_MISMATCH',
      STEP,
      `TDX module: MRSIGNERSEAM ${toHex(report.mrSignerSeam)} is not ${toHex(identity.mrSigner)}`,
    );
  }
  for (let i = 0; i < 8; i++) {
    const m = identity.attributesMask[i] as number;
    if (((report.seamAttributes[i] as number) & m) !== ((identity.attributes[i] as number) & m)) {
      throw new AppraisalError(
        'ERR_TDX_MODULE_MISMATCH',
        STEP,
        `TDX module: SEAMATTRIBUTES ${toHex(report.seamAttributes)} do not match ${toHex(identity.attributes)} under mask`,
      );
    }
  }
  if (!withLevels) return { status: 'UpToDate', advisoryIds: [] };
  const level = withLevels.tcbLevels.find((l) => isvSvn >= l.isvSvn);
  if (!level) {
    throw new AppraisalError(
      'ERR_TCB_NOT_SUPPORTED',
      STEP,
      `TDX module ${withLevels.id}: ISVSVN ${isvSvn} is below every TCB level`,
    );
  }
  return { id: withLevels.id, status: level.tcbStatus, advisoryIds: level.advisoryIds };
}
