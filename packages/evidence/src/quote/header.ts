/**
 * The 48-byte quote header. Intel SGX ECDSA Quote Library API §A.4 (v3) and Intel TDX DCAP
 * Quoting Library API §A.3 (v4/v5): version u16, attestation key type u16, TEE type u32 (v3:
 * reserved, 0 for SGX), QE SVN u16 and PCE SVN u16 (reserved in v4/v5), QE vendor ID (16),
 * user data (20). All integers little-endian.
 */
import { EvidenceParseError } from '../errors.js';
import { encodeError, putBytes, putU16, putU32 } from './encode-util.js';
import { QuoteReader } from './reader.js';
import { ATTESTATION_KEY_TYPE_ECDSA_P256, type QuoteHeader, TEE_TYPE_SGX, TEE_TYPE_TDX } from './types.js';

export const HEADER_SIZE = 48;
export const HEADER_OFFSET_VERSION = 0;
export const HEADER_OFFSET_KEY_TYPE = 2;
export const HEADER_OFFSET_TEE_TYPE = 4;
export const HEADER_OFFSET_QE_SVN = 8;
export const HEADER_OFFSET_PCE_SVN = 10;
export const HEADER_OFFSET_QE_VENDOR_ID = 12;
export const HEADER_OFFSET_USER_DATA = 28;
export const QE_VENDOR_ID_SIZE = 16;
export const USER_DATA_SIZE = 20;

/** Intel's QE vendor ID 939a7233-f79c-4ca9-940a-0db3957f0607 (the ECDSA QE). */
export const INTEL_QE_VENDOR_ID = new Uint8Array([
  0x93, 0x9a, 0x72, 0x33, 0xf7, 0x9c, 0x4c, 0xa9, 0x94, 0x0a, 0x0d, 0xb3, 0x95, 0x7f, 0x06, 0x07,
]);

/** Parses and validates the header (version, TEE type, attestation key type). */
export function parseQuoteHeader(r: QuoteReader): QuoteHeader {
  const raw = r.take(HEADER_SIZE, 'header');
  const h = new QuoteReader(raw, 'quote header');
  const version = h.u16('version');
  const attestationKeyType = h.u16('attestation key type');
  const teeType = h.u32('tee type');
  const qeSvn = h.u16('qe svn');
  const pceSvn = h.u16('pce svn');
  const qeVendorId = h.take(QE_VENDOR_ID_SIZE, 'qe vendor id');
  const userData = h.take(USER_DATA_SIZE, 'user data');
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new EvidenceParseError(
      'ERR_QUOTE_VERSION',
      'parse',
      `quote header: version ${version} is not supported (3, 4, 5)`,
    );
  }
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX) {
    throw new EvidenceParseError(
      'ERR_QUOTE_TEE_TYPE',
      'parse',
      `quote header: tee type 0x${teeType.toString(16)} is neither SGX (0x0) nor TDX (0x81)`,
    );
  }
  // Quote v3 is SGX only; TDX quotes start at v4 (TDX DCAP Quoting Library API §A.3).
  if (version === 3 && teeType !== TEE_TYPE_SGX) {
    throw new EvidenceParseError('ERR_QUOTE_TEE_TYPE', 'parse', `quote header: version 3 quote with TDX tee type`);
  }
  if (attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new EvidenceParseError(
      'ERR_QUOTE_KEY_TYPE',
      'parse',
      `quote header: attestation key type ${attestationKeyType} is not supported (only 2, ECDSA-256-with-P-256)`,
    );
  }
  return { version, attestationKeyType, teeType, qeSvn, pceSvn, qeVendorId, userData, raw };
}

export interface QuoteHeaderFields {
  version: 3 | 4 | 5;
  teeType: number;
  attestationKeyType?: number;
  qeSvn?: number;
  pceSvn?: number;
  qeVendorId?: Uint8Array;
  userData?: Uint8Array;
}

/**
 * Encodes a 48-byte header; QE vendor ID defaults to Intel's.
 * @example encodeQuoteHeader({ version: 4, teeType: TEE_TYPE_TDX }).length === 48
 */
export function encodeQuoteHeader(f: QuoteHeaderFields): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE);
  const view = new DataView(out.buffer);
  if (f.version !== 3 && f.version !== 4 && f.version !== 5) throw encodeError(`header: version ${String(f.version)}`);
  putU16(view, HEADER_OFFSET_VERSION, f.version, 'version');
  putU16(view, HEADER_OFFSET_KEY_TYPE, f.attestationKeyType ?? ATTESTATION_KEY_TYPE_ECDSA_P256, 'attestation key type');
  putU32(view, HEADER_OFFSET_TEE_TYPE, f.teeType, 'tee type');
  putU16(view, HEADER_OFFSET_QE_SVN, f.qeSvn ?? 0, 'qe svn');
  putU16(view, HEADER_OFFSET_PCE_SVN, f.pceSvn ?? 0, 'pce svn');
  putBytes(out, HEADER_OFFSET_QE_VENDOR_ID, QE_VENDOR_ID_SIZE, f.qeVendorId ?? INTEL_QE_VENDOR_ID, 'qe vendor id');
  putBytes(out, HEADER_OFFSET_USER_DATA, USER_DATA_SIZE, f.userData, 'user data');
  return out;
}
