export type { EvidenceAppraisalOptions, QuoteVerifierLike, SnpAppraisalOptions } from './appraise-evidence.js';
export { collateralFromEndorsements } from './endorsements.js';
export { certificateDer, pemCertificates } from './input.js';
export {
  type CertificateVerification,
  type VerifyCertificateOptions,
  verifyCertificate,
} from './verify-certificate.js';
