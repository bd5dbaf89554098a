/**
 * Quote signature data, after the u32 signature data length.
 * v3 (SGX ECDSA Quote Library API §A.4, "ECDSA 256-bit Quote Signature Data Structure"):
 *   signature (64) ‖ attestation key (64) ‖ QE report (384) ‖ QE report signature (64)
 *   ‖ QE auth data (u16 size ‖ bytes) ‖ certification data (u16 type ‖ u32 size ‖ bytes).
 * v4/v5 (TDX DCAP Quoting Library API §A.3.8): signature (64) ‖ attestation key (64)
 *   ‖ certification data type 6, whose payload is the QE report certification data:
 *   QE report (384) ‖ QE report signature (64) ‖ QE auth data (u16 ‖ bytes) ‖ certification data.
 */

import { concatBytes } from '../bytes.js';
import { EvidenceParseError } from '../errors.js';
import {
  CERT_DATA_PCK_CHAIN,
  CERT_DATA_QE_REPORT,
  checkInnerCertificationType,
  encodeCertificationData,
  pckChainText,
  readCertificationData,
} from './certification-data.js';
import { encodeError, u16le } from './encode-util.js';
import type { QuoteReader } from './reader.js';
import { parseSgxReportBody, SGX_REPORT_BODY_SIZE } from './sgx-report-body.js';
import type { CertificationData, QuoteSignatureData } from './types.js';

export const ECDSA_SIGNATURE_SIZE = 64;
export const ECDSA_P256_KEY_SIZE = 64;

/** QE report ‖ signature ‖ auth data ‖ certification data (shared by v3 and type 6 payload). */
function readQeReportCertification(r: QuoteReader): Omit<QuoteSignatureData, 'signature' | 'attestationKey'> {
  const qeReport = parseSgxReportBody(r.take(SGX_REPORT_BODY_SIZE, 'qe report'), 'qe report');
  const qeReportSignature = r.take(ECDSA_SIGNATURE_SIZE, 'qe report signature');
  const authSize = r.u16('qe auth data size');
  const qeAuthData = r.take(authSize, 'qe auth data');
  const inner = readCertificationData(r);
  checkInnerCertificationType(inner.type);
  const certification: CertificationData = { type: inner.type, data: inner.body.take(inner.body.remaining, 'data') };
  r.expectEnd();
  const out: Omit<QuoteSignatureData, 'signature' | 'attestationKey'> = {
    qeReport,
    qeReportSignature,
    qeAuthData,
    certification,
  };
  if (certification.type === CERT_DATA_PCK_CHAIN) out.pckChainPem = pckChainText(certification);
  return out;
}

/** Parses the signature data region (exactly `signature data length` bytes). */
export function parseSignatureData(r: QuoteReader, version: 3 | 4 | 5): QuoteSignatureData {
  const signature = r.take(ECDSA_SIGNATURE_SIZE, 'quote signature');
  const attestationKey = r.take(ECDSA_P256_KEY_SIZE, 'attestation key');
  if (version === 3) return { signature, attestationKey, ...readQeReportCertification(r) };
  const outer = readCertificationData(r);
  if (outer.type !== CERT_DATA_QE_REPORT) {
    throw new EvidenceParseError(
      'ERR_QUOTE_CERT_DATA',
      'parse',
      `signature data: quote v${version} certification data type ${outer.type}, expected 6 (QE report certification data)`,
    );
  }
  r.expectEnd();
  return { signature, attestationKey, ...readQeReportCertification(outer.body) };
}

export interface SignatureDataFields {
  signature: Uint8Array;
  attestationKey: Uint8Array;
  qeReport: Uint8Array;
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** Innermost certification data: type 5 with the PEM chain for a verifiable quote. */
  certification: CertificationData;
}

function fixed(b: Uint8Array, n: number, field: string): Uint8Array {
  if (b.length !== n) throw encodeError(`${field}: expected ${n} bytes, got ${b.length}`);
  return b;
}

/** Encodes the signature data region (without its u32 length prefix). */
export function encodeSignatureData(version: 3 | 4 | 5, f: SignatureDataFields): Uint8Array {
  if (f.qeAuthData.length > 0xffff) throw encodeError(`qe auth data: ${f.qeAuthData.length} bytes, at most 65535`);
  const qeCert = concatBytes(
    fixed(f.qeReport, SGX_REPORT_BODY_SIZE, 'qe report'),
    fixed(f.qeReportSignature, ECDSA_SIGNATURE_SIZE, 'qe report signature'),
    u16le(f.qeAuthData.length, 'qe auth data size'),
    f.qeAuthData,
    encodeCertificationData(f.certification.type, f.certification.data),
  );
  return concatBytes(
    fixed(f.signature, ECDSA_SIGNATURE_SIZE, 'signature'),
    fixed(f.attestationKey, ECDSA_P256_KEY_SIZE, 'attestation key'),
    version === 3 ? qeCert : encodeCertificationData(CERT_DATA_QE_REPORT, qeCert),
  );
}
