/**
 * The 384-byte SGX report body (sgx_report_body_t; Intel SGX ECDSA Quote Library API §A.4,
 * Table "Enclave Report Body"). Also the layout of the QE report inside the signature data.
 */
import { EvidenceParseError } from '../errors.js';
import { putBytes, putU16, putU32 } from './encode-util.js';
import { plainBytes } from './reader.js';
import type { SgxReportBody } from './types.js';

export const SGX_REPORT_BODY_SIZE = 384;
export const SGX_OFFSET_CPU_SVN = 0; // 16
export const SGX_OFFSET_MISC_SELECT = 16; // u32
export const SGX_OFFSET_ISV_EXT_PROD_ID = 32; // 16 (after 12 reserved)
export const SGX_OFFSET_ATTRIBUTES = 48; // 16
export const SGX_OFFSET_MR_ENCLAVE = 64; // 32
export const SGX_OFFSET_MR_SIGNER = 128; // 32 (after 32 reserved)
export const SGX_OFFSET_CONFIG_ID = 192; // 64 (after 32 reserved)
export const SGX_OFFSET_ISV_PROD_ID = 256; // u16
export const SGX_OFFSET_ISV_SVN = 258; // u16
export const SGX_OFFSET_CONFIG_SVN = 260; // u16
export const SGX_OFFSET_ISV_FAMILY_ID = 304; // 16 (after 42 reserved)
export const SGX_OFFSET_REPORT_DATA = 320; // 64

/** ATTRIBUTES.FLAGS bit 1: the enclave was launched in debug mode (SDM Vol. 3D §38.7.1). */
export const SGX_FLAGS_DEBUG = 0x02n;

/** A copy of `n` bytes at `off` (a module function: no closure per parse). */
function copyAt(raw: Uint8Array, off: number, n: number): Uint8Array {
  return raw.slice(off, off + n);
}

/**
 * Parses a report body from exactly 384 bytes (the caller took them through a bounded reader).
 * @example parseSgxReportBody(quote.signatureData.qeReport.raw).isvSvn
 */
export function parseSgxReportBody(input: Uint8Array, what = 'sgx report body'): SgxReportBody {
  const raw = plainBytes(input);
  if (raw.length !== SGX_REPORT_BODY_SIZE) {
    throw new EvidenceParseError(
      'ERR_QUOTE_LENGTH',
      'parse',
      `${what}: ${raw.length} bytes, expected ${SGX_REPORT_BODY_SIZE}`,
    );
  }
  // Length checked above: every fixed offset below lies inside `raw`.
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return {
    cpuSvn: copyAt(raw, SGX_OFFSET_CPU_SVN, 16),
    miscSelect: view.getUint32(SGX_OFFSET_MISC_SELECT, true),
    isvExtProdId: copyAt(raw, SGX_OFFSET_ISV_EXT_PROD_ID, 16),
    attributes: copyAt(raw, SGX_OFFSET_ATTRIBUTES, 16),
    mrEnclave: copyAt(raw, SGX_OFFSET_MR_ENCLAVE, 32),
    mrSigner: copyAt(raw, SGX_OFFSET_MR_SIGNER, 32),
    configId: copyAt(raw, SGX_OFFSET_CONFIG_ID, 64),
    isvProdId: view.getUint16(SGX_OFFSET_ISV_PROD_ID, true),
    isvSvn: view.getUint16(SGX_OFFSET_ISV_SVN, true),
    configSvn: view.getUint16(SGX_OFFSET_CONFIG_SVN, true),
    isvFamilyId: copyAt(raw, SGX_OFFSET_ISV_FAMILY_ID, 16),
    reportData: copyAt(raw, SGX_OFFSET_REPORT_DATA, 64),
    raw: raw.slice(),
  };
}

/**
 * True when ATTRIBUTES.FLAGS has the DEBUG bit.
 * @example if (q.body.kind === 'sgx' && isSgxDebug(q.body.report)) console.log('debug enclave')
 */
export function isSgxDebug(body: Pick<SgxReportBody, 'attributes'>): boolean {
  return ((body.attributes[0] ?? 0) & Number(SGX_FLAGS_DEBUG)) !== 0;
}

export type SgxReportBodyFields = Partial<Omit<SgxReportBody, 'raw'>>;

/**
 * Encodes a report body; omitted fields are zero, reserved bytes are zero.
 * @example encodeSgxReportBody({ mrEnclave: new Uint8Array(32).fill(1), isvSvn: 2 }).length === 384
 */
export function encodeSgxReportBody(f: SgxReportBodyFields): Uint8Array {
  const out = new Uint8Array(SGX_REPORT_BODY_SIZE);
  const view = new DataView(out.buffer);
  putBytes(out, SGX_OFFSET_CPU_SVN, 16, f.cpuSvn, 'cpuSvn');
  putU32(view, SGX_OFFSET_MISC_SELECT, f.miscSelect, 'miscSelect');
  putBytes(out, SGX_OFFSET_ISV_EXT_PROD_ID, 16, f.isvExtProdId, 'isvExtProdId');
  putBytes(out, SGX_OFFSET_ATTRIBUTES, 16, f.attributes, 'attributes');
  putBytes(out, SGX_OFFSET_MR_ENCLAVE, 32, f.mrEnclave, 'mrEnclave');
  putBytes(out, SGX_OFFSET_MR_SIGNER, 32, f.mrSigner, 'mrSigner');
  putBytes(out, SGX_OFFSET_CONFIG_ID, 64, f.configId, 'configId');
  putU16(view, SGX_OFFSET_ISV_PROD_ID, f.isvProdId, 'isvProdId');
  putU16(view, SGX_OFFSET_ISV_SVN, f.isvSvn, 'isvSvn');
  putU16(view, SGX_OFFSET_CONFIG_SVN, f.configSvn, 'configSvn');
  putBytes(out, SGX_OFFSET_ISV_FAMILY_ID, 16, f.isvFamilyId, 'isvFamilyId');
  putBytes(out, SGX_OFFSET_REPORT_DATA, 64, f.reportData, 'reportData');
  return out;
}
