/**
 * Parsed Intel DCAP quote (SGX v3, TDX v4/v5). Layouts: Intel SGX ECDSA Quote Library API
 * (quote v3, §A.4), Intel TDX DCAP Quoting Library API (quote v4/v5). All byte fields are views or
 * copies of the input; `signedBytes` is exactly what the attestation key signed.
 */

/** SGX 384-byte REPORT body (sgx_report_body_t); also the QE report's layout. */
export interface SgxReportBody {
  cpuSvn: Uint8Array; // 16
  miscSelect: number; // u32 LE
  isvExtProdId: Uint8Array; // 16
  attributes: Uint8Array; // 16 (flags u64 LE ‖ xfrm u64 LE)
  mrEnclave: Uint8Array; // 32
  mrSigner: Uint8Array; // 32
  configId: Uint8Array; // 64
  isvProdId: number; // u16 LE
  isvSvn: number; // u16 LE
  configSvn: number; // u16 LE
  isvFamilyId: Uint8Array; // 16
  reportData: Uint8Array; // 64
  /** The exact 384 bytes, for signature checks over the report. */
  raw: Uint8Array;
}

/** TDX TD report body: 584 bytes (TD 1.0), 648 bytes (TD 1.5 adds teeTcbSvn2, mrServiceTd). */
export interface TdReportBody {
  teeTcbSvn: Uint8Array; // 16
  mrSeam: Uint8Array; // 48
  mrSignerSeam: Uint8Array; // 48
  seamAttributes: Uint8Array; // 8
  tdAttributes: Uint8Array; // 8
  xfam: Uint8Array; // 8
  mrTd: Uint8Array; // 48
  mrConfigId: Uint8Array; // 48
  mrOwner: Uint8Array; // 48
  mrOwnerConfig: Uint8Array; // 48
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array]; // 4 × 48
  reportData: Uint8Array; // 64
  teeTcbSvn2?: Uint8Array; // 16, TD 1.5 only
  mrServiceTd?: Uint8Array; // 48, TD 1.5 only
  raw: Uint8Array;
}

export interface QuoteHeader {
  version: 3 | 4 | 5;
  attestationKeyType: number; // 2 = ECDSA-256-with-P-256
  teeType: number; // 0x00000000 SGX, 0x00000081 TDX
  qeSvn: number; // v3 only (reserved in v4/v5: 0)
  pceSvn: number; // v3 only (reserved in v4/v5: 0)
  qeVendorId: Uint8Array; // 16
  userData: Uint8Array; // 20
  raw: Uint8Array; // 48
}

/** Certification data (type 5 = PCK cert chain PEM; 6 = QE report certification data wrapping 5). */
export interface CertificationData {
  type: number;
  data: Uint8Array;
}

export interface QuoteSignatureData {
  /** ECDSA P-256 signature over `Quote.signedBytes`, raw r‖s (64). */
  signature: Uint8Array;
  /** Attestation public key, raw x‖y (64). */
  attestationKey: Uint8Array;
  /** QE report (384 bytes, SGX report layout). */
  qeReport: SgxReportBody;
  /** PCK signature over `qeReport.raw`, raw r‖s (64). */
  qeReportSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** The innermost certification data (type 5: PCK chain, leaf first). */
  certification: CertificationData;
  /** PEM text of the PCK chain when certification type is 5; otherwise undefined. */
  pckChainPem?: string;
}

export type QuoteBody =
  | { kind: 'sgx'; report: SgxReportBody }
  | { kind: 'td10'; report: TdReportBody }
  | { kind: 'td15'; report: TdReportBody };

export interface Quote {
  header: QuoteHeader;
  tee: 'sgx' | 'tdx';
  body: QuoteBody;
  /** The bytes the attestation key signed: header ‖ body (v3/v4), header ‖ body descriptor ‖ body (v5). */
  signedBytes: Uint8Array;
  signatureData: QuoteSignatureData;
  /** Bytes after the signature data (real quotes carry padding); never signed, never used. */
  trailingBytes: number;
  /** Length in bytes of the quote proper (without trailing bytes). */
  length: number;
}

export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;
/** Quotes larger than this are refused before parsing (the largest real quotes are ~8 KiB). */
export const MAX_QUOTE_BYTES = 64 * 1024;
