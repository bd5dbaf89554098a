/**
 * Step: the Quoting Enclave's report (QVL 4.1.2.4.12–4.1.2.4.15): PCK signature over the 384-byte
 * report, report data binding the attestation key and QE auth data, and the match against the
 * signed QE identity, which yields the QE's TCB level.
 */
import { createHash, type KeyObject } from 'node:crypto';
import { AppraisalError, bytesEqual, isAllZero, type SgxReportBody, toHex } from '@ratls/evidence';
import { verifyP256Raw } from '../pki/keys.js';
import type { QeIdentity, QeIdentityLevel } from './qe-identity.js';

const STEP = 'qe-report';

/** Code: ERR_QE_REPORT_SIGNATURE. */
export function verifyQeReportSignature(qeReport: SgxReportBody, signature: Uint8Array, pckKey: KeyObject): void {
  if (!verifyP256Raw(qeReport.raw, pckKey, signature)) {
    throw new AppraisalError(
      'ERR_QE_REPORT_SIGNATURE',
      STEP,
      'QE report: signature does not verify with the PCK certificate key',
    );
  }
}

/** QE report data must be SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes. Code: ERR_QE_REPORT_DATA. */
export function checkQeReportData(qeReport: SgxReportBody, attestationKey: Uint8Array, qeAuthData: Uint8Array): void {
  const h = createHash('sha256').update(attestationKey).update(qeAuthData).digest();
  const rd = qeReport.reportData;
  if (rd.length !== 64 || !bytesEqual(rd.subarray(0, 32), h) || !isAllZero(rd.subarray(32))) {
    throw new AppraisalError(
      'ERR_QE_REPORT_DATA',
      STEP,
      'QE report: report data is not SHA-256(attestation key ‖ QE auth data) followed by zeros',
    );
  }
}

/**
 * Matches the QE report against the QE identity (miscselect and attributes under their masks,
 * MRSIGNER, ISVPRODID) and returns the first TCB level whose ISVSVN the QE meets.
 * Codes: ERR_QE_IDENTITY_MISMATCH, ERR_TCB_NOT_SUPPORTED (step qe-identity-match).
 */
export function matchQeIdentity(qeReport: SgxReportBody, qe: QeIdentity): QeIdentityLevel {
  const step = 'qe-identity-match';
  if ((qeReport.miscSelect & qe.miscSelectMask) >>> 0 !== qe.miscSelect >>> 0)
    throw new AppraisalError(
      'ERR_QE_IDENTITY_MISMATCH',
      step,
      'QE report does not match the QE identity: MISCSELECT differs',
    );
  for (let i = 0; i < 16; i++) {
    const m = qe.attributesMask[i] as number;
    if (((qeReport.attributes[i] as number) & m) !== ((qe.attributes[i] as number) & m))
      throw new AppraisalError(
        'ERR_QE_IDENTITY_MISMATCH',
        step,
        'QE report does not match the QE identity: ATTRIBUTES differ',
      );
  }
  if (!bytesEqual(qeReport.mrSigner, qe.mrSigner)) {
    throw new AppraisalError(
      'ERR_QE_IDENTITY_MISMATCH',
      step,
      `QE report does not match the QE identity: MRSIGNER ${toHex(qeReport.mrSigner)} is not ${toHex(qe.mrSigner)}`,
    );
  }
  if (qeReport.isvProdId !== qe.isvProdId)
    throw new AppraisalError(
      'ERR_QE_IDENTITY_MISMATCH',
      step,
      `QE report does not match the QE identity: ISVPRODID ${qeReport.isvProdId} is not ${qe.isvProdId}`,
    );
  const level = qe.tcbLevels.find((l) => qeReport.isvSvn >= l.isvSvn);
  if (!level) {
    throw new AppraisalError(
      'ERR_TCB_NOT_SUPPORTED',
      step,
      `QE ISVSVN ${qeReport.isvSvn} is below every TCB level of the QE identity`,
    );
  }
  return level;
}
