export type { EvidenceAppraisalOptions, QuoteVerifierLike, SnpAppraisalOptions } from './appraise-evidence.js';
export { certificateDer, pemCertificates } from './input.js';
export {
  type CertificateVerification,
  type VerifyCertificateOptions,
  verifyCertificate,
} from './verify-certificate.js';
export { collateralFromEndorsements } from './endorsements.js';
