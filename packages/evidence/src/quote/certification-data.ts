/**
 * Certification data: u16 type, u32 size, data (Intel SGX ECDSA Quote Library API §A.4.
 * "Certification Data"; TDX DCAP Quoting Library API §A.3.9-A.3.11). Type 6 (quote v4/v5) wraps
 * the QE report certification data, whose last member is again certification data (type 5).
 */
import { EvidenceParseError } from '../errors.js';
import { encodeError, u16le, u32le } from './encode-util.js';
import type { QuoteReader } from './reader.js';
import type { CertificationData } from './types.js';

export const CERT_DATA_PPID_CLEARTEXT = 1;
export const CERT_DATA_PPID_RSA2048 = 2;
export const CERT_DATA_PPID_RSA3072 = 3;
export const CERT_DATA_PCK_LEAF = 4;
export const CERT_DATA_PCK_CHAIN = 5;
export const CERT_DATA_QE_REPORT = 6;
export const CERT_DATA_PLATFORM_MANIFEST = 7;

const PEM_CERT = '-----BEGIN CERTIFICATE-----';
/** Any byte but tab, LF, CR and printable ASCII (what PEM text may hold, RFC 7468 §3). */
const NOT_PEM_TEXT = /[^\t\n\r\x20-\x7e]/;

/** Reads type and size, then returns a reader over exactly `size` bytes of payload. */
export function readCertificationData(r: QuoteReader): { type: number; body: QuoteReader } {
  const type = r.u16('certification data type');
  const size = r.u32('certification data size');
  return { type, body: r.sub(size, `certification data (type ${type}, ${size} bytes)`) };
}

/**
 * Checks the innermost certification data: types 1-5 are Intel's defined kinds (only 5 carries
 * what a verifier needs; the verifier decides); anything else, including a nested 6, is refused.
 */
export function checkInnerCertificationType(type: number): void {
  if (type < CERT_DATA_PPID_CLEARTEXT || type > CERT_DATA_PCK_CHAIN) {
    throw new EvidenceParseError(
      'ERR_QUOTE_CERT_DATA',
      'parse',
      `certification data: type ${type} is not supported here (expected 1-5; PCK chain is 5)`,
    );
  }
}

/**
 * PEM text of a type 5 payload: printable ASCII with at least one certificate; Intel's quote
 * generator appends a NUL terminator, which is dropped.
 */
export function pckChainText(cd: CertificationData): string {
  let end = cd.data.length;
  while (end > 0 && cd.data[end - 1] === 0) end--;
  const text = Buffer.from(cd.data.buffer, cd.data.byteOffset, end).toString('latin1');
  // latin1 maps each byte to the code unit of the same value, so one native regex scan checks the
  // alphabet (a byte loop here was ~2 % of a fresh certificate's verification); the position
  // is looked up only for the message.
  const bad = NOT_PEM_TEXT.exec(text);
  if (bad) {
    throw new EvidenceParseError(
      'ERR_QUOTE_CERT_DATA',
      'parse',
      `certification data type 5: byte 0x${text.charCodeAt(bad.index).toString(16)} at offset ${bad.index} is not PEM text`,
    );
  }
  if (!text.includes(PEM_CERT)) {
    throw new EvidenceParseError('ERR_QUOTE_CERT_DATA', 'parse', 'certification data type 5: no PEM certificate in it');
  }
  return text;
}

/** Encodes certification data (type, size, data). */
export function encodeCertificationData(type: number, data: Uint8Array): Uint8Array {
  if (data.length > 0xffffffff) throw encodeError('certification data too large');
  const out = new Uint8Array(6 + data.length);
  out.set(u16le(type, 'certification data type'), 0);
  out.set(u32le(data.length, 'certification data size'), 2);
  out.set(data, 6);
  return out;
}
