export {
  AttestedCredentials,
  type AttestedCredentialsEvents,
  type AttestedCredentialsOptions,
  createAttestedCredentials,
  DEFAULT_RENEW_FRACTION,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
  type RenewedEvent,
} from './attested-credentials.js';
export {
  type BuildRaTlsCertificateOptions,
  buildRaTlsCertificate,
  type CertificateAttestation,
  type CertificateFormat,
  DEFAULT_BACKDATE_SECONDS,
  DEFAULT_SUBJECT_CN,
  DEFAULT_VALIDITY_SECONDS,
  MAX_EVIDENCE_BYTES,
  MAX_NONCE_BYTES,
  MAX_VALIDITY_SECONDS,
  type RaTlsCertificate,
} from './certificate.js';
export type { CertificateIssuer } from './issuer.js';
export { exportPrivateKeyPem, generateKeyPair, KeyPair, type KeyType, SIGNATURE_HASH } from './keys.js';
export { diceClaimsFor, diceReportData, gramineReportData } from './report-data.js';
