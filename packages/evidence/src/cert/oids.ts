/**
 * Object identifiers and size bounds for RA-TLS certificates. Sources: CCC "Interoperable RA-TLS
 * X.509 Cert and Evidence Formats" (TCG DICE OIDs), Gramine `ra_tls` (legacy quote OID),
 * Intel SGX SDK SampleAttestedTLS, Open Enclave `attester` (OE evidence OIDs), sgx-ra-tls (2018).
 */

/** tcg-dice-conceptual-message-wrapper ("tagged evidence"): CBOR tag 60000/60001 `[evidence, claims]`. */
export const OID_DICE_TAGGED_EVIDENCE = '2.23.133.5.4.9';
/** tcg-dice-endorsement-manifest: collateral carried in the certificate (recognised, not required). */
export const OID_DICE_ENDORSEMENTS = '2.23.133.5.4.2';
/** Gramine / sgx-ra-tls legacy: raw SGX ECDSA quote. */
export const OID_GRAMINE_QUOTE = '1.2.840.113741.1337.6';
/**
 * Gramine ships the legacy OID with its content bytes prefixed by `06 09` (the tag and length were
 * written twice), so every ASN.1 parser reads this arc instead. Matched exactly, as real
 * certificates carry it.
 */
export const OID_GRAMINE_QUOTE_MISENCODED = '0.6.9.42.840.113741.1337.6';
/** Intel SGX SDK attested TLS (and older OE): raw quote under the SGX extension arc. */
export const OID_INTEL_SGX_SDK_QUOTE = '1.2.840.113741.1.13.1';
/** Open Enclave / EGo: OE report header + quote (SGX ECDSA evidence, "oe_report"). */
export const OID_OE_REPORT = '1.3.6.1.4.1.311.105.1';
/** Open Enclave: OE evidence with custom claims (header + quote + claims). */
export const OID_OE_EVIDENCE = '1.3.6.1.4.1.311.105.2';
/** sgx-ra-tls (2018) collateral extensions: PCK cert, PCK chain, TCB info, TCB chain. Recognised only. */
export const OID_SGX_RA_TLS_PCK_CRT = '1.2.840.113741.1337.7';
export const OID_SGX_RA_TLS_PCK_SIGN_CHAIN = '1.2.840.113741.1337.8';
export const OID_SGX_RA_TLS_TCB_INFO = '1.2.840.113741.1337.9';
export const OID_SGX_RA_TLS_TCB_SIGN_CHAIN = '1.2.840.113741.1337.10';
/** Subject alternative name (X.509 §4.2.1.6): the Nitro (Evervault) format hides its document here. */
export const OID_SUBJECT_ALT_NAME = '2.5.29.17';

/** Extensions recognised as RA-TLS collateral or metadata: present is fine, nothing to check. */
export const RECOGNISED_NON_EVIDENCE_OIDS: readonly string[] = [
  OID_DICE_ENDORSEMENTS,
  OID_SGX_RA_TLS_PCK_CRT,
  OID_SGX_RA_TLS_PCK_SIGN_CHAIN,
  OID_SGX_RA_TLS_TCB_INFO,
  OID_SGX_RA_TLS_TCB_SIGN_CHAIN,
];

/** CBOR tags for DICE tagged evidence (CCC SGX/TDX evidence formats). */
export const DICE_TAG_INTEL_QUOTE = 60000;
export const DICE_TAG_TDX = 60001;
/**
 * AMD SEV-SNP attestation report (the raw 1184-byte ATTESTATION_REPORT): rats-tls / librats
 * `OCBR_TAG_EVIDENCE_SEV_SNP` 0x1a7504 (inclavare-containers rats-tls `src/include/internal/dice.h`).
 */
export const DICE_TAG_SEV_SNP = 0x1a7504;
/**
 * AWS Nitro Enclaves attestation document (COSE_Sign1). No published RA-TLS implementation defines
 * one; ratls chose 0x1a7570 next to the rats-tls range (0x1a75xx). Provisional: see docs/formats.md.
 */
export const DICE_TAG_NITRO = 0x1a7570;
export type DiceTag =
  | typeof DICE_TAG_INTEL_QUOTE
  | typeof DICE_TAG_TDX
  | typeof DICE_TAG_SEV_SNP
  | typeof DICE_TAG_NITRO;
/** Every tag the reader accepts. */
export const DICE_TAGS: readonly DiceTag[] = [DICE_TAG_INTEL_QUOTE, DICE_TAG_TDX, DICE_TAG_SEV_SNP, DICE_TAG_NITRO];
export function isDiceTag(n: number): n is DiceTag {
  return (DICE_TAGS as readonly number[]).includes(n);
}

/**
 * Bound on a peer's whole RA-TLS certificate (it carries the quote and often the PCK chain, ~6 KiB;
 * room for endorsements), refused before parsing. Not the bound on one certificate of a vendor
 * chain: that is `MAX_CHAIN_CERT_BYTES` in @ratls/verifier's pki.
 */
export const MAX_RATLS_CERT_BYTES = 256 * 1024;
/** Any one evidence extension value (quote ≤ 64 KiB + claims + framing). */
export const MAX_EVIDENCE_EXTENSION_BYTES = 72 * 1024;
/** The DICE claims buffer. */
export const MAX_CLAIMS_BYTES = 4 * 1024;
/** The hex label of a Nitro SAN dNSName (documents are ~4.5 KiB, so ~9 Ki hex chars). */
export const MAX_NITRO_SAN_LABEL_CHARS = 32 * 1024;
