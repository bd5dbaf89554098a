export { KeyPair, type KeyType, SIGNATURE_HASH, exportPrivateKeyPem, generateKeyPair } from './keys.js';
export {
  type BuildRaTlsCertificateOptions,
  type CertificateAttestation,
  type CertificateFormat,
  DEFAULT_BACKDATE_SECONDS,
  DEFAULT_SUBJECT_CN,
  DEFAULT_VALIDITY_SECONDS,
  MAX_EVIDENCE_BYTES,
  MAX_NONCE_BYTES,
  MAX_VALIDITY_SECONDS,
  type RaTlsCertificate,
  buildRaTlsCertificate,
} from './certificate.js';
export { diceClaimsFor, diceReportData, gramineReportData } from './report-data.js';
export {
  AttestedCredentials,
  type AttestedCredentialsEvents,
  type AttestedCredentialsOptions,
  DEFAULT_RENEW_FRACTION,
  RETRY_MAX_MS,
  RETRY_MIN_MS,
  type RenewedEvent,
  createAttestedCredentials,
} from './attested-credentials.js';
export type { CertificateIssuer } from './issuer.js';
