/**
 * Open Enclave framing of SGX evidence in certificates (openenclave `include/openenclave/internal/
 * report.h`, `common/attest_plugin.c`). No published OE/EGo certificate exists as a test vector,
 * so these layouts follow the OE sources: little-endian, natural C alignment.
 *
 * - 1.3.6.1.4.1.311.105.1: `oe_report_header_t` { u32 version = 1; u32 report_type (2 = SGX
 *   remote); u64 report_size } then `report_size` bytes of quote.
 * - 1.3.6.1.4.1.311.105.2: `oe_attestation_header_t` { u32 version; u8 format_id[16]; (4 bytes
 *   padding); u64 data_size } then data = quote ‖ custom-claims buffer (the SGX ECDSA plugin hashes
 *   the custom-claims buffer into report_data; for certificates that buffer is the public key).
 */
import { EvidenceParseError } from '../errors.js';

export const OE_REPORT_HEADER_SIZE = 16;
export const OE_REPORT_HEADER_VERSION = 1;
export const OE_REPORT_TYPE_SGX_REMOTE = 2;
export const OE_ATTESTATION_HEADER_SIZE = 32;
/** OE_FORMAT_UUID_SGX_ECDSA {a3a21e87-1b4d-4014-b70a-a125d2fbcd8c}. */
export const OE_FORMAT_UUID_SGX_ECDSA = Uint8Array.of(
  0xa3,
  0xa2,
  0x1e,
  0x87,
  0x1b,
  0x4d,
  0x40,
  0x14,
  0xb7,
  0x0a,
  0xa1,
  0x25,
  0xd2,
  0xfb,
  0xcd,
  0x8c,
);
/** SGX quote v3 fixed part before the signature data: header (48) + report body (384) + u32 length. */
const SGX_QUOTE_V3_FIXED = 48 + 384 + 4;

function u32le(b: Uint8Array, o: number): number {
  return (
    ((b[o] as number) | ((b[o + 1] as number) << 8) | ((b[o + 2] as number) << 16) | ((b[o + 3] as number) << 24)) >>> 0
  );
}

function u64le(b: Uint8Array, o: number): number {
  const hi = u32le(b, o + 4);
  if (hi > 0x1fffff) return Number.MAX_SAFE_INTEGER; // beyond 2^53: certainly out of bounds
  return hi * 0x100000000 + u32le(b, o);
}

/** Splits a 105.1 value into its quote. */
export function parseOeReport(value: Uint8Array, oid: string): { quote: Uint8Array } {
  if (value.length < OE_REPORT_HEADER_SIZE)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): ${value.length} bytes is shorter than the 16-byte report header`,
    );
  const version = u32le(value, 0);
  const type = u32le(value, 4);
  const size = u64le(value, 8);
  if (version !== OE_REPORT_HEADER_VERSION)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): report header version ${version}, expected 1`,
    );
  if (type !== OE_REPORT_TYPE_SGX_REMOTE)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): report type ${type} is not SGX remote (2)`,
    );
  if (size !== value.length - OE_REPORT_HEADER_SIZE) {
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): report size ${size} does not match the ${value.length - OE_REPORT_HEADER_SIZE} bytes after the header`,
    );
  }
  return { quote: value.subarray(OE_REPORT_HEADER_SIZE) };
}

/** Splits a 105.2 value into its quote and the custom-claims buffer that follows it. */
export function parseOeEvidence(value: Uint8Array, oid: string): { quote: Uint8Array; customClaims: Uint8Array } {
  if (value.length < OE_ATTESTATION_HEADER_SIZE + SGX_QUOTE_V3_FIXED)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): ${value.length} bytes is too short for header and quote`,
    );
  const format = value.subarray(4, 20);
  for (let i = 0; i < 16; i++) {
    if (format[i] !== OE_FORMAT_UUID_SGX_ECDSA[i])
      throw new EvidenceParseError(
        'ERR_EVIDENCE_EXTENSION_INVALID',
        'extract',
        `Open Enclave evidence (${oid}): format id is not OE_FORMAT_UUID_SGX_ECDSA`,
      );
  }
  const size = u64le(value, 24);
  if (size !== value.length - OE_ATTESTATION_HEADER_SIZE) {
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): data size ${size} does not match the ${value.length - OE_ATTESTATION_HEADER_SIZE} bytes after the header`,
    );
  }
  const data = value.subarray(OE_ATTESTATION_HEADER_SIZE);
  // The quote's own signature-data length says where it ends (SGX quote v3 §A.4).
  const sigLen = u32le(data, SGX_QUOTE_V3_FIXED - 4);
  if (sigLen > data.length - SGX_QUOTE_V3_FIXED)
    throw new EvidenceParseError(
      'ERR_EVIDENCE_EXTENSION_INVALID',
      'extract',
      `Open Enclave evidence (${oid}): quote signature data length ${sigLen} overruns the evidence`,
    );
  const end = SGX_QUOTE_V3_FIXED + sigLen;
  return { quote: data.subarray(0, end), customClaims: data.subarray(end) };
}
