/**
 * Step: the Quoting Enclave's report (QVL 4.1.2.4.12–4.1.2.4.13): PCK signature over the 384-byte
 * report, and report data binding the attestation key and QE auth data. Its match against the
 * signed QE identity is the QE identity step (`qe-identity.ts`, `matchQeIdentity`).
 */
import { createHash, type KeyObject } from 'node:crypto';
import { AppraisalError, bytesEqual, isAllZero, type SgxReportBody } from '@ratls/evidence';
import { verifyP256Raw } from '../pki/keys.js';

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
