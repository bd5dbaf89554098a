/** DCAP quote parsing and encoding (SGX v3, TDX v4/v5). */

export { BODY_TYPE_SGX, BODY_TYPE_TD10, BODY_TYPE_TD15 } from './body.js';
export {
  CERT_DATA_PCK_CHAIN,
  CERT_DATA_PCK_LEAF,
  CERT_DATA_PPID_CLEARTEXT,
  CERT_DATA_PPID_RSA2048,
  CERT_DATA_PPID_RSA3072,
  CERT_DATA_QE_REPORT,
} from './certification-data.js';
export { type EncodeQuoteInput, encodeQuote } from './encode.js';
export { encodeQuoteHeader, HEADER_SIZE, INTEL_QE_VENDOR_ID, type QuoteHeaderFields } from './header.js';
export { parseQuote } from './parse.js';
export {
  encodeSgxReportBody,
  isSgxDebug,
  parseSgxReportBody,
  SGX_FLAGS_DEBUG,
  SGX_REPORT_BODY_SIZE,
  type SgxReportBodyFields,
} from './sgx-report-body.js';
export {
  encodeTdReportBody,
  isTdDebug,
  parseTdReportBody,
  TD_ATTRIBUTES_DEBUG_BIT,
  TD10_REPORT_BODY_SIZE,
  TD15_REPORT_BODY_SIZE,
  type TdReportBodyFields,
} from './td-report-body.js';
export { parseQuoteText } from './text.js';
