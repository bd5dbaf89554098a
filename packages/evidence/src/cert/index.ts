/** RA-TLS certificate evidence: OIDs, DICE encoders/decoders, extraction, binding. See docs/formats.md. */

export {
  type BindingOptions,
  type BindingOutcome,
  type BindingRule,
  checkBinding,
  expectedReportData,
} from './binding.js';
export { checkCertificateBinding } from './check-certificate.js';
export { type DecodedDiceClaims, type DiceClaims, decodeDiceClaims, encodeDiceClaims } from './dice-claims.js';
export { type DiceEndorsements, decodeDiceEndorsements, encodeDiceEndorsements } from './dice-endorsements.js';
export { type DiceTaggedEvidence, decodeDiceTaggedEvidence, encodeDiceTaggedEvidence } from './dice-tagged.js';
export { EvidenceParses } from './evidence-parses.js';
export {
  type EvidenceFormat,
  type ExtractedEvidence,
  extractEvidence,
  parseRatlsCertificate,
  type RatlsCertificateParts,
  ratlsCertificateParts,
} from './extract.js';
export { checkEvidenceAgree, evidenceIdentity } from './identity.js';
export {
  OE_ATTESTATION_HEADER_SIZE,
  OE_FORMAT_UUID_SGX_ECDSA,
  OE_REPORT_HEADER_SIZE,
  OE_REPORT_HEADER_VERSION,
  OE_REPORT_TYPE_SGX_REMOTE,
  parseOeEvidence,
  parseOeReport,
} from './oe-header.js';
export * from './oids.js';
export { spkiPem, spkiPemWithNul } from './pem.js';
export { decodeSnpEndorsements, diceEndorsementsTag, encodeSnpEndorsements } from './snp-endorsements.js';
export { isPubkeyHashAlg, type PubkeyHashAlg, pubkeyHashLength, spkiHash } from './spki-hash.js';
