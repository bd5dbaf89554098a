/**
 * Attestation-gated identities: short-lived X.509-SVID-style certificates and EAR tokens for
 * enclaves accepted under `freshness: channel` (docs/identities.md).
 *
 * @example
 * import { authorityFromFiles, ensureAuthorityFiles, issueCertificate } from 'ratls';
 * const ca = await authorityFromFiles({ ...(await ensureAuthorityFiles(dir, 'prod.example.org', Date.now())), trustDomain: 'prod.example.org' });
 * const { chainPem, serial } = await issueCertificate(ca, { csrDer, peerCertDer, decision, at: Date.now() });
 */
export {
  type AuthorityOptions,
  authorityFromFiles,
  DEFAULT_TTL_SEC,
  ensureAuthorityFiles,
  type IdentityAuthority,
  loadAuthority,
  MAX_TTL_SEC,
} from './authority.js';
export { EarKeyRing } from './ear-keys.js';
export { earKeyRingFromDir, ensureEarKeyFile } from './ear-keys-dir.js';
export { DEFAULT_FACTS_ARC, type FactName, factOids } from './facts.js';
export {
  type CaFiles,
  caTrustDomain,
  createIntermediate,
  INTERMEDIATE_DAYS,
  type IntermediateOptions,
  initFleetRoot,
  nameConstraintsValue,
  OID_NAME_CONSTRAINTS,
  permittedUriHosts,
  ROOT_DAYS,
} from './intermediate.js';
export {
  type IssueCertificateRequest,
  type IssuedCertificate,
  issueCertificate,
  MAX_CSR_BYTES,
} from './issue-certificate.js';
export { EAR_PROFILE, type EarStatus, earStatus, earStatuses, type IssueEarRequest, issueEar } from './issue-ear.js';
export { MAX_JWKS_DOCUMENTS, MAX_MERGED_KEYS, mergeJwks } from './merge-jwks.js';
export { type IssuedIdentity, type RequestIdentityOptions, requestIdentity } from './request-identity.js';
export { spiffeId, spiffePathSegment } from './spiffe-id.js';
