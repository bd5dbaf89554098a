export type { SnpCertTable, SnpCertTableEntry } from './cert-table.js';
export { encodeSnpCertTable, parseSnpCertTable, SNP_CERT_GUIDS, SNP_CERT_TABLE_MAX } from './cert-table.js';
export { type CertificateParts, certificateParts } from './certificate-parts.js';
export {
  OFF as SNP_REPORT_OFFSETS,
  SNP_REPORT_SIZE,
  SNP_SIG_ALGO_ECDSA_P384_SHA384,
  SNP_SIGNED_LENGTH,
} from './layout.js';
export { parseSnpReport, snpReportFromText } from './parse.js';
export { snpProductFromCpuid, snpProductFromName } from './product.js';
export { decodeSnpTcb, encodeSnpTcb } from './tcb.js';
export type { SnpPolicy, SnpProduct, SnpReport, SnpTcb } from './types.js';
export { SNP_PRODUCTS } from './types.js';
export type { VcekExtensions } from './vcek-extensions.js';
export { AMD_VCEK_OID, parseVcekExtensions, VCEK_MAX_DER } from './vcek-extensions.js';
