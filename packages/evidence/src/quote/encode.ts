/**
 * encodeQuote: builds SGX v3 and TDX v4/v5 quotes (for the simulated TEE and for tests). The
 * output follows the same layouts parseQuote reads; v4/v5 wrap the PCK chain (type 5) in QE
 * report certification data (type 6), as Intel's TDX quoting enclave does.
 */
import { concatBytes } from '../bytes.js';
import { bodyKindOf, encodeBodyDescriptor } from './body.js';
import { CERT_DATA_PCK_CHAIN } from './certification-data.js';
import { encodeError, u32le } from './encode-util.js';
import { encodeQuoteHeader } from './header.js';
import { encodeSignatureData } from './signature-data.js';
import { MAX_QUOTE_BYTES, TEE_TYPE_SGX, TEE_TYPE_TDX } from './types.js';

export interface EncodeQuoteInput {
  /** 3 (SGX only), 4 or 5. */
  version: 3 | 4 | 5;
  tee: 'sgx' | 'tdx';
  /** Header fields; QE vendor ID defaults to Intel's, the rest to zero. */
  header?: { qeSvn?: number; pceSvn?: number; qeVendorId?: Uint8Array; userData?: Uint8Array };
  /** Encoded report body: encodeSgxReportBody (384) or encodeTdReportBody (584 / 648, v5 only for 648). */
  body: Uint8Array;
  /** Attestation public key, raw x‖y (64 bytes). */
  attestationKey: Uint8Array;
  /** QE report (encodeSgxReportBody, 384 bytes); its report data must commit to the key and auth data. */
  qeReport: Uint8Array;
  /** PCK signature over qeReport, raw r‖s (64 bytes). */
  qeReportSignature: Uint8Array;
  qeAuthData?: Uint8Array;
  /** PCK leaf, intermediate and root, PEM, leaf first (certification data type 5). */
  pckChainPem: string;
  /** Signs the quote's signed bytes with the attestation key; returns raw r‖s (64 bytes). */
  sign: (signedBytes: Uint8Array) => Uint8Array;
}

/**
 * @example
 * const quote = encodeQuote({ version: 3, tee: 'sgx', body: encodeSgxReportBody({ reportData }),
 *   attestationKey, qeReport, qeReportSignature, pckChainPem, sign: (m) => signP256Raw(akPriv, m) });
 * parseQuote(quote).tee === 'sgx'
 */
export function encodeQuote(q: EncodeQuoteInput): Uint8Array {
  if (q.version === 3 && q.tee !== 'sgx') throw encodeError('quote v3 is SGX only; use v4 or v5 for TDX');
  const kind = bodyKindOf(q.tee, q.body);
  if (kind === 'td15' && q.version !== 5) throw encodeError('a TD 1.5 body needs quote v5');
  const header = encodeQuoteHeader({
    version: q.version,
    teeType: q.tee === 'sgx' ? TEE_TYPE_SGX : TEE_TYPE_TDX,
    ...q.header,
  });
  const signed =
    q.version === 5 ? concatBytes(header, encodeBodyDescriptor(kind), q.body) : concatBytes(header, q.body);
  const signature = q.sign(signed);
  const sigData = encodeSignatureData(q.version, {
    signature,
    attestationKey: q.attestationKey,
    qeReport: q.qeReport,
    qeReportSignature: q.qeReportSignature,
    qeAuthData: q.qeAuthData ?? new Uint8Array(0),
    certification: { type: CERT_DATA_PCK_CHAIN, data: new TextEncoder().encode(q.pckChainPem) },
  });
  const out = concatBytes(signed, u32le(sigData.length, 'signature data length'), sigData);
  if (out.length > MAX_QUOTE_BYTES) throw encodeError(`quote: ${out.length} bytes exceeds ${MAX_QUOTE_BYTES}`);
  return out;
}
