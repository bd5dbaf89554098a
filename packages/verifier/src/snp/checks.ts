import { verify as cryptoVerify, type KeyObject } from 'node:crypto';
import {
  AppraisalError,
  bytesEqual,
  concatBytes,
  isAllZero,
  SNP_SIG_ALGO_ECDSA_P384_SHA384,
  type SnpProduct,
  type SnpReport,
  snpProductFromName,
  toHex,
  type VcekExtensions,
} from '@ratls/evidence';

/**
 * The report's own declarations: SIGNATURE_ALGO is ECDSA P-384/SHA-384 and a signing key is named
 * (ABI spec Table 22, Table 138).
 * @example checkSnpReportHeader(report)
 */
export function checkSnpReportHeader(report: SnpReport): 'vcek' | 'vlek' {
  if (report.signatureAlgo !== SNP_SIG_ALGO_ECDSA_P384_SHA384) {
    throw new AppraisalError(
      'ERR_SNP_SIG_ALGO_UNSUPPORTED',
      'snp-report',
      `SNP report: SIGNATURE_ALGO ${report.signatureAlgo} is not 1 (ECDSA P-384 SHA-384)`,
    );
  }
  if (report.signingKey === 'none')
    throw new AppraisalError(
      'ERR_SNP_SIGNING_KEY',
      'snp-report',
      'SNP report: SIGNING_KEY says the report is unsigned',
    );
  return report.signingKey;
}

/**
 * ECDSA P-384/SHA-384 over report bytes [0, 0x2A0) (ABI spec §7.3, Table 139: r and s little-endian;
 * `parseSnpReport` has already made them big-endian).
 * @example verifySnpReportSignature(report, vcekPublicKey)
 */
export function verifySnpReportSignature(report: SnpReport, key: KeyObject): void {
  let ok = false;
  try {
    ok = cryptoVerify(
      'sha384',
      report.signedBytes,
      { key, dsaEncoding: 'ieee-p1363' },
      concatBytes(report.signature.r, report.signature.s),
    );
  } catch (e) {
    throw new AppraisalError('ERR_SNP_REPORT_SIGNATURE', 'snp-signature', 'SNP report: signature check failed', {
      cause: e,
    });
  }
  if (!ok) {
    throw new AppraisalError(
      'ERR_SNP_REPORT_SIGNATURE',
      'snp-signature',
      `SNP report: signature does not verify under the ${report.signingKey.toUpperCase()} key`,
    );
  }
}

/**
 * The VCEK/VLEK endorses exactly the report's REPORTED_TCB (AMD VCEK spec #57230 Table 8: blSPL,
 * teeSPL, snpSPL, ucodeSPL, and fmcSPL on Turin), and its productName names the same product line.
 * @example checkSnpTcbMatchesCert(report, parseVcekExtensions(vcekDer), 'Milan')
 */
export function checkSnpTcbMatchesCert(report: SnpReport, ext: VcekExtensions, product: SnpProduct): void {
  const named = snpProductFromName(ext.productName);
  if (named !== product) {
    throw new AppraisalError(
      'ERR_SNP_PRODUCT_MISMATCH',
      'snp-tcb',
      `signing certificate productName "${ext.productName}" is not ${product}`,
    );
  }
  const t = report.reportedTcb;
  const pairs: [string, number, number | undefined][] = [
    ['bootloader (blSPL)', t.bootloader, ext.blSpl],
    ['tee (teeSPL)', t.tee, ext.teeSpl],
    ['snp (snpSPL)', t.snp, ext.snpSpl],
    ['microcode (ucodeSPL)', t.microcode, ext.ucodeSpl],
  ];
  if (product === 'Turin') pairs.push(['fmc (fmcSPL)', t.fmc ?? 0, ext.fmcSpl]);
  for (const [name, reported, certified] of pairs) {
    if (certified === undefined || reported !== certified) {
      throw new AppraisalError(
        'ERR_SNP_TCB_MISMATCH',
        'snp-tcb',
        `SNP REPORTED_TCB ${name} is ${reported}, but the signing certificate endorses ${certified ?? 'nothing'}`,
      );
    }
  }
}

/**
 * A VCEK is bound to one chip: its hwID equals the report's CHIP_ID (Turin: the first 8 bytes; KDS
 * spec §3). VLEKs carry no hwID and are not checked here.
 * @example checkSnpChipId(report, ext, 'Milan')
 */
export function checkSnpChipId(report: SnpReport, ext: VcekExtensions, product: SnpProduct): void {
  if (report.signingKey !== 'vcek') return;
  if (!ext.hwId) throw new AppraisalError('ERR_SNP_HWID_MISMATCH', 'snp-tcb', 'VCEK has no hwID extension');
  const chip = product === 'Turin' ? report.chipId.subarray(0, 8) : report.chipId;
  if (isAllZero(report.chipId)) {
    throw new AppraisalError(
      'ERR_SNP_HWID_MISMATCH',
      'snp-tcb',
      'SNP report CHIP_ID is masked (all zero); it cannot be bound to the VCEK',
    );
  }
  if (!bytesEqual(chip, ext.hwId)) {
    throw new AppraisalError(
      'ERR_SNP_HWID_MISMATCH',
      'snp-tcb',
      `SNP report CHIP_ID ${toHex(chip).slice(0, 16)}… differs from the VCEK hwID ${toHex(ext.hwId).slice(0, 16)}…`,
    );
  }
}
