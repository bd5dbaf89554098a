/** X.509 chain and CRL helpers shared by the DCAP, SNP and Nitro appraisers (internal; not re-exported by the package root). */
export {
  type CertExtension,
  KNOWN_CRITICAL_EXTENSIONS,
  KU_CRL_SIGN,
  KU_DIGITAL_SIGNATURE,
  KU_KEY_CERT_SIGN,
  MAX_CHAIN_CERT_BYTES,
  MAX_PEM_CHAIN_BYTES,
  type NameAttribute,
  nameAttributes,
  OID_BASIC_CONSTRAINTS,
  OID_CN,
  OID_KEY_USAGE,
  type ParsedCertificate,
  parseCertificate,
  pemToDers,
} from './certificate.js';
export {
  anchorOf,
  type ChainOptions,
  checkSignedBy,
  checkValidity,
  type ErrorCtor,
  findAnchor,
  parseCertAt,
  type VerifiedChain,
  verifyChain,
} from './chain.js';
export { checkCrl, isRevoked, MAX_CRL_BYTES, type ParsedCrl, parseCrl, parseCrlAt } from './crl.js';
export {
  certificateKey,
  ecdsaHash,
  OID_EC_PUBLIC_KEY,
  OID_ECDSA_SHA256,
  OID_ECDSA_SHA384,
  OID_P256,
  p256KeyFromRaw,
  verifyEcdsaDer,
  verifyP256Raw,
} from './keys.js';
