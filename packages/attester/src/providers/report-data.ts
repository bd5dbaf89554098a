/**
 * Where the 64-byte report data sits in what a TEE returns, so a provider can check the platform
 * echoed the value it was asked to bind (a concurrent writer or a stale file would not).
 *  - DCAP quote header is 48 bytes (Intel SGX ECDSA Quote Library API §A.4; TDX DCAP Quoting
 *    Library API §A.3). SGX report body: report_data at +320. TDX TD report body: REPORTDATA at
 *    +520. Quote v5 inserts a 6-byte body descriptor (type u16, size u32) after the header.
 *  - SEV-SNP ATTESTATION_REPORT: REPORT_DATA at 0x50 (SNP Firmware ABI, Table 22).
 */
import { bytesEqual, ProviderError, toHex } from '@ratls/evidence';
import type { TeeKind } from './types.js';

const HEADER = 48;
const SGX_REPORT_DATA = 320;
const TDX_REPORT_DATA = 520;
const V5_BODY_DESCRIPTOR = 6;
const SNP_REPORT_DATA = 0x50;
const TEE_TYPE_SGX = 0x00000000;
const TEE_TYPE_TDX = 0x00000081;

/** Offset of report data in `evidence`, or an error when the layout is not one we know. */
export function reportDataOffset(tee: TeeKind, evidence: Uint8Array, provider: string): number {
  if (tee === 'sev-snp') return SNP_REPORT_DATA;
  if (tee !== 'sgx' && tee !== 'tdx') {
    throw new ProviderError(
      'ERR_PROVIDER_TEE_UNSUPPORTED',
      'provider',
      `${provider}: no report data layout for ${tee}`,
    );
  }
  if (evidence.length < HEADER) {
    throw new ProviderError(
      'ERR_PROVIDER_OUTPUT_TRUNCATED',
      'provider',
      `${provider}: quote of ${evidence.length} bytes is shorter than the 48-byte header`,
    );
  }
  const dv = new DataView(evidence.buffer, evidence.byteOffset, evidence.byteLength);
  const version = dv.getUint16(0, true);
  const teeType = dv.getUint32(4, true);
  const expectType = tee === 'sgx' ? TEE_TYPE_SGX : TEE_TYPE_TDX;
  if (teeType !== expectType || version < 3 || version > 5 || (tee === 'tdx' && version === 3)) {
    throw new ProviderError(
      'ERR_PROVIDER_UNEXPECTED_OUTPUT',
      'provider',
      `${provider}: expected a ${tee.toUpperCase()} quote, got version ${version} tee type 0x${teeType.toString(16)}`,
    );
  }
  const body = version === 5 ? HEADER + V5_BODY_DESCRIPTOR : HEADER;
  return body + (tee === 'sgx' ? SGX_REPORT_DATA : TDX_REPORT_DATA);
}

/** Fails with ERR_PROVIDER_REPORT_DATA_MISMATCH unless `evidence` carries exactly `reportData`. */
export function checkEchoedReportData(
  tee: TeeKind,
  evidence: Uint8Array,
  reportData: Uint8Array,
  provider: string,
): void {
  const off = reportDataOffset(tee, evidence, provider);
  if (evidence.length < off + 64) {
    throw new ProviderError(
      'ERR_PROVIDER_OUTPUT_TRUNCATED',
      'provider',
      `${provider}: evidence of ${evidence.length} bytes ends before report data at ${off}..${off + 64}`,
    );
  }
  const got = evidence.subarray(off, off + 64);
  if (!bytesEqual(got, reportData)) {
    throw new ProviderError(
      'ERR_PROVIDER_REPORT_DATA_MISMATCH',
      'provider',
      `${provider}: the platform returned evidence for report data ${toHex(got).slice(0, 16)}…, not the ${toHex(reportData).slice(0, 16)}… written (another writer raced us?)`,
    );
  }
}
