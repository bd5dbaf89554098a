/**
 * The registry of every error code ratls emits: the pipeline step it comes from and what an
 * operator should do about it. Codes are public (metric labels, audit values, alert rules), so a
 * code never changes meaning and is never removed without a release as a documented alias.
 * `docs/errors.md` is generated from this map (`node scripts/gen-errors-doc.mjs`).
 *
 * - `step`: the step the code's throw sites name (the `step` of the `RatlsError`, or the audit
 *   event's layer for codes that never become an exception: `tls`, `http`, `usage`).
 * - `alsoFrom`: other steps that throw the same code, through a shared check (the chain and CRL
 *   checks in pki/ run for the PCK chain, TCB info, QE identity and CRL issuer chains alike).
 * - `aliasOf` + `deprecated`: a synonym kept for one release; it is still emitted where it was, and
 *   `canonicalCode`/`isCode` resolve it, so alert rules on either spelling keep matching.
 */

/** One registry entry. */
export interface ErrorCodeInfo {
  readonly step: string;
  readonly meaning: string;
  readonly alsoFrom?: readonly string[];
  readonly aliasOf?: `ERR_${string}`;
  readonly deprecated?: string;
}

export const ERROR_CODES = {
  ERR_QUOTE_INPUT: {
    step: 'parse',
    meaning: 'The quote argument is not a Uint8Array; pass the raw quote bytes (decode hex or base64 first).',
  },
  ERR_QUOTE_INVALID: {
    step: 'parse',
    aliasOf: 'ERR_QUOTE_INPUT',
    deprecated: '0.2',
    meaning: 'Deprecated alias of ERR_QUOTE_INPUT (verifyQuote was given something that is not quote bytes).',
  },
  ERR_QUOTE_TOO_LARGE: {
    step: 'parse',
    meaning:
      'The quote (or its text form) exceeds the size bound; a real quote is a few KiB, so treat the peer as hostile or misconfigured.',
  },
  ERR_QUOTE_TRUNCATED: {
    step: 'parse',
    meaning: 'The quote ends before a field it declares; it was cut in transit or forged.',
  },
  ERR_QUOTE_LENGTH: {
    step: 'parse',
    meaning:
      'A quote section declares a length that disagrees with its layout or leaves unexpected bytes; the quote is malformed.',
  },
  ERR_QUOTE_VERSION: {
    step: 'parse',
    meaning: 'The quote version is not 3, 4 or 5; the attester uses an unsupported DCAP library.',
  },
  ERR_QUOTE_TEE_TYPE: {
    step: 'parse',
    meaning: 'The quote header names neither SGX nor TDX (or a version that cannot carry that TEE).',
  },
  ERR_QUOTE_KEY_TYPE: {
    step: 'parse',
    meaning: "The quote's attestation key type is not ECDSA-256-with-P-256, the only type DCAP defines.",
  },
  ERR_QUOTE_BODY_TYPE: {
    step: 'parse',
    meaning: "A v5 quote body descriptor names an unknown body type or one that does not belong to the quote's TEE.",
  },
  ERR_QUOTE_CERT_DATA: {
    step: 'parse',
    meaning: "The quote's certification data is of an unsupported type or is not the PEM text it claims to be.",
  },
  ERR_QUOTE_MALFORMED: {
    step: 'parse',
    meaning: 'The quote failed to parse for a reason not covered by a narrower code; the message names the field.',
  },
  ERR_QUOTE_TEXT: {
    step: 'parse',
    meaning: 'Quote text is not a hex string of a plausible length; check how the quote was exported.',
  },
  ERR_QUOTE_ENCODE: {
    step: 'encode',
    meaning:
      'Encoding a quote structure failed because a field does not fit its layout (a bug in the caller or the simulator).',
  },
  ERR_HEX_INVALID: { step: 'parse', meaning: 'A hex field is not valid hex of the expected length.' },
  ERR_SNP_REPORT_SIZE: {
    step: 'parse',
    meaning: 'The SEV-SNP report is not bytes of exactly the report size (1184 bytes).',
  },
  ERR_SNP_REPORT_VERSION: {
    step: 'parse',
    meaning: 'The SEV-SNP report version is outside the supported range; update ratls or check the firmware.',
  },
  ERR_SNP_REPORT_INVALID: {
    step: 'parse',
    meaning: 'A SEV-SNP report field holds a reserved or out-of-range value; the report is malformed or forged.',
  },
  ERR_SNP_PRODUCT_MISMATCH: {
    step: 'snp-tcb',
    alsoFrom: ['parse'],
    meaning:
      "The SEV-SNP report's CPUID or the signing certificate names a different product (Milan, Genoa, Turin) than the one being verified.",
  },
  ERR_SNP_TCB_INVALID: {
    step: 'parse',
    meaning: 'A SEV-SNP TCB_VERSION field is not 8 bytes of valid SVN components.',
  },
  ERR_SNP_VCEK_INVALID: {
    step: 'parse',
    meaning: 'The VCEK/VLEK certificate does not parse or its AMD extensions are malformed; fetch it again from KDS.',
  },
  ERR_SNP_CERT_TABLE_INVALID: {
    step: 'parse',
    meaning:
      'The SEV-SNP certificate table (auxblob) is truncated, oversized or its entries overlap; the host supplied a bad table.',
  },
  ERR_NITRO_DOC_SIZE: {
    step: 'parse',
    meaning: 'The Nitro attestation document (or its text form) is empty or larger than the bound.',
  },
  ERR_NITRO_DOC_ENCODING: { step: 'parse', meaning: 'The Nitro attestation document text is neither hex nor base64.' },
  ERR_NITRO_CBOR_INVALID: { step: 'parse', meaning: 'Part of the Nitro attestation document is not valid CBOR.' },
  ERR_NITRO_COSE_INVALID: {
    step: 'parse',
    meaning: 'The Nitro attestation document is not a well-formed COSE_Sign1 structure.',
  },
  ERR_NITRO_ALG_UNSUPPORTED: {
    step: 'parse',
    meaning: 'The Nitro COSE protected header names an algorithm other than ES384.',
  },
  ERR_NITRO_DOC_INVALID: {
    step: 'parse',
    meaning: 'A Nitro attestation document payload field is missing, of the wrong type or out of bounds.',
  },
  ERR_DER_MALFORMED: {
    step: 'der',
    meaning:
      'DER encoding is invalid (non-canonical, indefinite, truncated or trailing bytes); the message gives the byte offset.',
  },
  ERR_PEM_MALFORMED: {
    step: 'pem',
    meaning:
      'PEM text is malformed (bad armour, bad base64, mislabelled or run-together blocks); the message names the line.',
  },
  ERR_PEM_TOO_LARGE: { step: 'pem', meaning: 'PEM text exceeds the size bound.' },
  ERR_CERT_MALFORMED: {
    step: 'x509',
    alsoFrom: ['pck-chain', 'crl', 'tcb-info', 'qe-identity'],
    meaning: "The X.509 certificate's structure is invalid (missing or mis-tagged fields, bad extensions).",
  },
  ERR_CERT_DUPLICATE_EXTENSION: {
    step: 'x509',
    meaning: 'The certificate carries the same extension twice (RFC 5280 §4.2 forbids it).',
  },
  ERR_CRL_MALFORMED: {
    step: 'crl',
    alsoFrom: ['revocation', 'tcb-info', 'qe-identity'],
    meaning: "The CRL's structure is invalid or its revoked list does not parse; fetch the CRL again.",
  },
  ERR_CRL_TOO_LARGE: { step: 'crl', meaning: 'The CRL exceeds the size bound.' },
  ERR_CRL_ISSUER_MISMATCH: {
    step: 'crl',
    alsoFrom: ['revocation'],
    meaning:
      'The CRL is issued by a different CA than the certificate it is meant to cover (wrong PCK CA or wrong CRL).',
  },
  ERR_CRL_SIGNATURE: { step: 'crl', meaning: "The CRL's signature does not verify with its issuer's key." },
  ERR_CERT_PARSE: {
    step: 'certificate',
    meaning: 'The peer certificate is not a Uint8Array or does not parse as X.509.',
  },
  ERR_CERT_TOO_LARGE: {
    step: 'certificate',
    alsoFrom: ['extract', 'x509', 'encode'],
    meaning: 'The certificate (or an evidence extension in it) exceeds the size bound.',
  },
  ERR_CERT_NO_EVIDENCE: {
    step: 'extract',
    meaning:
      'The certificate carries no attestation evidence in any supported format; the peer is not an RA-TLS attester.',
  },
  ERR_CERT_EXPIRED: {
    step: 'certificate',
    alsoFrom: ['pck-chain', 'tcb-info', 'qe-identity', 'crl'],
    meaning: 'A certificate is past its notAfter at the verification time.',
  },
  ERR_CERT_NOT_YET_VALID: {
    step: 'certificate',
    meaning: "The certificate's notBefore is after the verification time; check the clocks of both sides.",
  },
  ERR_CERT_SIGNATURE: {
    step: 'certificate',
    alsoFrom: ['pck-chain', 'tcb-info', 'qe-identity', 'crl'],
    meaning: "A certificate's signature does not verify with its issuer's key (or its own key, if self-signed).",
  },
  ERR_CERT_SIGNATURE_ALGORITHM: {
    step: 'certificate',
    meaning: 'The certificate is signed with an algorithm ratls does not accept (ECDSA or RSA with SHA-2, Ed25519).',
  },
  ERR_CERT_ALGORITHM: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    aliasOf: 'ERR_CERT_SIGNATURE_ALGORITHM',
    deprecated: '0.2',
    meaning: 'Deprecated alias of ERR_CERT_SIGNATURE_ALGORITHM, thrown by chain verification.',
  },
  ERR_CERT_CRITICAL_EXTENSION: {
    step: 'certificate',
    alsoFrom: ['pck-chain', 'tcb-info', 'qe-identity', 'crl'],
    meaning: 'A certificate has a critical extension ratls does not understand, so it must be refused (RFC 5280 §4.2).',
  },
  ERR_CERT_NOT_SELF_SIGNED: {
    step: 'certificate',
    meaning:
      'The peer certificate is not self-signed and no certificate authorities were configured to check its issuer.',
  },
  ERR_CERT_UNTRUSTED_ISSUER: {
    step: 'certificate',
    meaning: 'The peer certificate is not issued by any configured certificate authority.',
  },
  ERR_CERT_VERIFY_INTERNAL: {
    step: 'certificate',
    meaning: 'Certificate verification failed unexpectedly; the cause is attached, report it as a bug.',
  },
  ERR_CERT_BUILD: { step: 'certificate', meaning: 'Signing the RA-TLS certificate failed; check the key pair.' },
  ERR_CERT_FORMAT_UNSUPPORTED: {
    step: 'certificate',
    meaning:
      "The requested certificate format cannot carry this TEE's evidence (e.g. Gramine legacy with non-SGX evidence).",
  },
  ERR_EVIDENCE_EXTENSION_INVALID: {
    step: 'extract',
    alsoFrom: ['encode'],
    meaning: 'An evidence extension in the certificate (DICE, Gramine, SGX SDK, Open Enclave) is malformed.',
  },
  ERR_CBOR_INVALID: {
    step: 'extract',
    meaning: 'CBOR in an evidence extension is truncated, indefinite-length, too deep or uses reserved values.',
  },
  ERR_DICE_CLAIMS_INVALID: {
    step: 'extract',
    alsoFrom: ['encode'],
    meaning: 'The DICE claims buffer is malformed (wrong map keys, wrong hash length, too large).',
  },
  ERR_DICE_HASH_ALG_UNSUPPORTED: {
    step: 'extract',
    alsoFrom: ['encode', 'binding'],
    meaning: 'The DICE pubkey-hash algorithm is not SHA-256, SHA-384 or SHA-512 (1, 7, 8).',
  },
  ERR_DICE_ENDORSEMENTS_INVALID: {
    step: 'extract',
    meaning: 'The DICE endorsements extension (2.23.133.5.4.2) is malformed or too large.',
  },
  ERR_BINDING_MISMATCH: {
    step: 'binding',
    meaning:
      "The evidence's report data does not commit to this certificate's public key: the certificate was re-wrapped around someone else's quote.",
  },
  ERR_BINDING_INPUT: {
    step: 'binding',
    meaning: 'The binding check was given inputs that do not fit the evidence format (e.g. no claims buffer for DICE).',
  },
  ERR_BINDING_NONCE_MISMATCH: {
    step: 'binding',
    meaning: 'The nonce in the evidence is not the expected one: the evidence is replayed or for another session.',
  },
  ERR_BINDING_NONCE_MISSING: {
    step: 'binding',
    meaning: 'A nonce was expected but no evidence in the certificate carries one.',
  },
  ERR_BINDING_FORMATS_DISAGREE: {
    step: 'binding',
    meaning: 'Two evidence extensions in one certificate describe different TEE identities; refuse the certificate.',
  },
  ERR_PCK_CHAIN_LENGTH: {
    step: 'pck-chain',
    alsoFrom: ['crl'],
    meaning: 'The PCK chain is not exactly leaf, PCK CA and root.',
  },
  ERR_PCK_CHAIN_ROLE: {
    step: 'pck-chain',
    alsoFrom: ['crl'],
    meaning:
      'A certificate in the PCK chain stands in a role it is not fit for (wrong CA flags, path length or key usage).',
  },
  ERR_PCK_CA_UNKNOWN: {
    step: 'pck-chain',
    alsoFrom: ['crl'],
    meaning: "The PCK chain's intermediate is neither the PCK Processor CA nor the PCK Platform CA.",
  },
  ERR_PCK_CERT_INVALID: {
    step: 'pck-chain',
    alsoFrom: ['crl'],
    meaning: "The PCK chain's leaf is not a PCK certificate (its subject CN is wrong).",
  },
  ERR_PCK_EXTENSION: {
    step: 'pck-extensions',
    meaning: "The PCK certificate's SGX extension (1.2.840.113741.1.13.1) is missing or malformed.",
  },
  ERR_PCK_REVOKED: {
    step: 'revocation',
    meaning: "The PCK certificate is revoked by the PCK CRL: the platform's key is compromised or retired.",
  },
  ERR_PCK_CA_REVOKED: { step: 'revocation', meaning: 'The PCK CA is revoked by the Root CA CRL.' },
  ERR_UNSUPPORTED_CERTIFICATION_DATA: {
    step: 'pck-chain',
    meaning:
      "The quote's certification data carries no PCK chain (type 5 is required); configure the attester's PCCS client.",
  },
  ERR_CHAIN_EMPTY: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    meaning: 'A certificate chain has no certificates.',
  },
  ERR_CHAIN_TOO_LONG: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    meaning: 'A certificate chain has more certificates than allowed.',
  },
  ERR_CHAIN_ISSUER_MISMATCH: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    meaning: "A certificate's issuer is not the next certificate in the chain.",
  },
  ERR_CHAIN_NOT_CA: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    meaning: 'A certificate that signs others in the chain is not a CA allowed to sign certificates.',
  },
  ERR_UNTRUSTED_ROOT: {
    step: 'pck-chain',
    alsoFrom: ['tcb-info', 'qe-identity', 'crl'],
    meaning:
      "The chain's root is not a configured trust anchor; check the trust store (simulated roots are trusted only when configured).",
  },
  ERR_KEY_INVALID: {
    step: 'key',
    alsoFrom: ['pck-chain', 'tcb-info', 'qe-identity', 'crl'],
    meaning: 'A public key is not a usable key of the expected type and size.',
  },
  ERR_ANCHOR_MISMATCH: {
    step: 'collateral',
    meaning: 'The PCK chain and the collateral (or the collateral parts) chain to different trust anchors.',
  },
  ERR_TCB_SIGNER_ROLE: {
    step: 'tcb-info',
    alsoFrom: ['qe-identity', 'crl'],
    meaning:
      'The TCB signing chain is not exactly the TCB Signing certificate and the Intel root, or the signer is not fit for its role.',
  },
  ERR_TCB_SIGNER_REVOKED: {
    step: 'tcb-info',
    alsoFrom: ['qe-identity', 'crl'],
    meaning: 'The TCB Signing certificate is revoked by the Root CA CRL.',
  },
  ERR_TCB_INFO_MALFORMED: {
    step: 'tcb-info',
    meaning: "The TCB info JSON does not have the fields and types Intel's schema requires.",
  },
  ERR_TCB_INFO_SIGNATURE: {
    step: 'tcb-info',
    meaning: 'The TCB info signature does not verify over the exact signed JSON bytes.',
  },
  ERR_TCB_INFO_TEE_MISMATCH: {
    step: 'tcb-info-match',
    meaning: 'The TCB info is for another TEE or version than the quote (SGX vs TDX).',
  },
  ERR_FMSPC_MISMATCH: {
    step: 'tcb-info-match',
    meaning: "The TCB info is for another platform: its FMSPC differs from the PCK certificate's.",
  },
  ERR_PCEID_MISMATCH: { step: 'tcb-info-match', meaning: "The TCB info's PCEID differs from the PCK certificate's." },
  ERR_QE_IDENTITY_MALFORMED: {
    step: 'qe-identity',
    meaning: "The QE identity JSON does not have the fields and types Intel's schema requires.",
  },
  ERR_QE_IDENTITY_SIGNATURE: {
    step: 'qe-identity',
    meaning: 'The QE identity signature does not verify over the exact signed JSON bytes.',
  },
  ERR_QE_IDENTITY_TEE_MISMATCH: {
    step: 'qe-identity-match',
    meaning: 'The QE identity is for another TEE (QE vs TD_QE) than the quote.',
  },
  ERR_QE_IDENTITY_MISMATCH: {
    step: 'qe-identity-match',
    meaning:
      "The quoting enclave's report does not match Intel's QE identity (MISCSELECT, attributes, MRSIGNER or ISVPRODID).",
  },
  ERR_QE_REPORT_SIGNATURE: {
    step: 'qe-report',
    meaning: 'The QE report signature does not verify with the PCK certificate key.',
  },
  ERR_QE_REPORT_DATA: {
    step: 'qe-report',
    meaning:
      "The QE report data does not commit to the attestation key and QE auth data: the attestation key is not the QE's.",
  },
  ERR_ATTESTATION_KEY_INVALID: {
    step: 'quote-signature',
    meaning: "The quote's attestation key is not a valid P-256 point.",
  },
  ERR_QUOTE_SIGNATURE: {
    step: 'quote-signature',
    meaning: 'The quote signature does not verify with the attestation key: the quote was altered.',
  },
  ERR_TCB_NOT_SUPPORTED: {
    step: 'tcb-level',
    alsoFrom: ['qe-identity-match', 'tdx-module'],
    meaning: "No TCB level matches the platform's SVNs: the platform is older than every level Intel lists.",
  },
  ERR_TCB_REVOKED: { step: 'tcb-level', meaning: 'The platform, QE or TDX module TCB level is Revoked.' },
  ERR_TDX_MODULE_MISMATCH: {
    step: 'tdx-module',
    meaning: "The TDX module's identity or SVN is not listed in the TCB info.",
  },
  ERR_UNVERIFIED_INPUT: {
    step: 'appraise',
    meaning: 'A PCK chain or collateral was passed to appraisal without being verified by ratls in this process.',
  },
  ERR_INTERNAL: {
    step: 'appraise',
    alsoFrom: ['credentials'],
    meaning: 'An unexpected failure inside ratls; the cause is attached, report it as a bug.',
  },
  ERR_TIME_INVALID: {
    step: 'config',
    aliasOf: 'ERR_AT_INVALID',
    deprecated: '0.2',
    meaning: 'Deprecated alias of ERR_AT_INVALID (thrown by DCAP verification for an invalid `at`).',
  },
  ERR_AT_INVALID: {
    step: 'nitro',
    alsoFrom: ['snp'],
    meaning: 'The verification time `at` is not a valid Date or non-negative unix seconds.',
  },
  ERR_TRUST_ANCHOR_INVALID: {
    step: 'config',
    meaning: 'A configured trust anchor is not a parseable X.509 certificate.',
  },
  ERR_COLLATERAL_REQUIRED: {
    step: 'config',
    meaning: 'The evidence needs collateral but no collateral, collateral source or quote verifier was given.',
  },
  ERR_COLLATERAL_MALFORMED: {
    step: 'collateral',
    meaning: 'Collateral (TCB info, QE identity, CRL or issuer chain) is not in the expected format; fetch it again.',
  },
  ERR_COLLATERAL_MISSING: { step: 'collateral', meaning: 'A required collateral field is missing.' },
  ERR_COLLATERAL_EXPIRED: {
    step: 'collateral',
    alsoFrom: ['crl', 'tcb-info', 'qe-identity'],
    meaning:
      'Collateral is not valid at the verification time (before issueDate or after nextUpdate); refresh it from PCCS.',
  },
  ERR_COLLATERAL_MISMATCH: {
    step: 'collateral',
    meaning: 'The collateral source answered with collateral for another TEE, FMSPC or CA than requested.',
  },
  ERR_COLLATERAL_NOT_FOUND: {
    step: 'collateral',
    meaning: 'The collateral source has no collateral for this platform (HTTP 404 or no matching file).',
  },
  ERR_COLLATERAL_REQUEST: {
    step: 'collateral',
    meaning: 'The collateral request itself is invalid (unknown TEE or CA, bad FMSPC).',
  },
  ERR_COLLATERAL_FILE: { step: 'collateral', meaning: 'A collateral file cannot be read.' },
  ERR_COLLATERAL_TOO_LARGE: { step: 'collateral', meaning: 'A collateral response or file exceeds the size bound.' },
  ERR_COLLATERAL_TIMEOUT: {
    step: 'collateral',
    meaning: 'The collateral server did not answer completely within the timeout; check PCCS health.',
  },
  ERR_COLLATERAL_ABORTED: { step: 'collateral', meaning: 'The collateral request was aborted by the caller.' },
  ERR_COLLATERAL_UNREACHABLE: {
    step: 'collateral',
    meaning: 'The collateral server cannot be reached (DNS, connection refused, TLS); check the PCCS URL and network.',
  },
  ERR_COLLATERAL_HTTP: {
    step: 'collateral',
    meaning: 'The collateral server answered with a non-2xx status other than 404.',
  },
  ERR_COLLATERAL_EMPTY: { step: 'collateral', meaning: 'AMD KDS answered with an empty body.' },
  ERR_COLLATERAL_IPC: {
    step: 'collateral',
    meaning:
      'A gateway worker got a malformed collateral answer from the cluster primary over IPC, or the primary is gone; check the primary process.',
  },
  ERR_COLLATERAL_RATE_LIMITED: {
    step: 'collateral',
    meaning:
      'The collateral server rate-limited us (HTTP 429/503 with Retry-After) or the per-host request budget is spent; requests to that host back off until the time given, cached collateral still serves.',
  },
  ERR_COLLATERAL_ROLLBACK: {
    step: 'collateral',
    meaning:
      'Collateral carries a lower tcbEvaluationDataNumber than one already accepted for the same FMSPC (or QE identity); refused so older, better-rated collateral cannot be restored.',
  },
  ERR_CONFIG_PCCS_URL: { step: 'config', meaning: 'The PCCS URL is not an http(s) URL.' },
  ERR_CONFIG_PCCS_OPTION: { step: 'config', meaning: 'A PCCS source option (timeout, size) is not a positive number.' },
  ERR_SNP_PRODUCT_UNKNOWN: { step: 'snp', meaning: 'The SEV-SNP product is not Milan, Genoa or Turin.' },
  ERR_SNP_COLLATERAL_MISSING: {
    step: 'snp-collateral',
    meaning: 'No VCEK/VLEK was supplied and none can be fetched; supply it or configure a KDS source.',
  },
  ERR_SNP_SIG_ALGO_UNSUPPORTED: {
    step: 'snp-report',
    meaning: "The SEV-SNP report's signature algorithm is not ECDSA P-384 with SHA-384.",
  },
  ERR_SNP_SIGNING_KEY: { step: 'snp-report', meaning: 'The SEV-SNP report says it is unsigned.' },
  ERR_SNP_CHAIN_INVALID: {
    step: 'snp-chain',
    meaning: 'An AMD certificate (ARK, ASK/ASVK, VCEK/VLEK) does not parse or is out of bounds.',
  },
  ERR_SNP_CHAIN_ROLE: {
    step: 'snp-chain',
    meaning: 'An AMD certificate stands in a role it is not fit for (ARK not self-signed CA, ASK not a CA, leaf a CA).',
  },
  ERR_SNP_ARK_UNTRUSTED: { step: 'snp-chain', meaning: 'The AMD root (ARK) is not a configured trust anchor.' },
  ERR_SNP_ARK_SIGNATURE: { step: 'snp-chain', meaning: "The ARK's self-signature does not verify." },
  ERR_SNP_ASK_SIGNATURE: { step: 'snp-chain', meaning: 'The ASK/ASVK is not signed by the ARK.' },
  ERR_SNP_VCEK_SIGNATURE: { step: 'snp-chain', meaning: 'The VCEK/VLEK is not signed by the ASK/ASVK.' },
  ERR_SNP_SIGNING_KEY_MISMATCH: {
    step: 'snp-chain',
    meaning: 'The report names a VCEK but a VLEK was supplied, or the reverse.',
  },
  ERR_SNP_CERT_EXPIRED: { step: 'snp-chain', meaning: 'An AMD certificate is not valid at the verification time.' },
  ERR_SNP_CRL_INVALID: { step: 'snp-crl', meaning: 'The AMD CRL is malformed or out of bounds.' },
  ERR_SNP_CRL_SIGNATURE: { step: 'snp-crl', meaning: 'The AMD CRL is not RSASSA-PSS signed by the ARK.' },
  ERR_SNP_CRL_EXPIRED: {
    step: 'snp-crl',
    meaning: 'The AMD CRL is not valid at the verification time; fetch a fresh CRL from KDS.',
  },
  ERR_SNP_REVOKED: {
    step: 'snp-crl',
    meaning: 'An AMD certificate (ASK/ASVK or VCEK/VLEK) is revoked by the AMD CRL.',
  },
  ERR_SNP_REPORT_SIGNATURE: {
    step: 'snp-signature',
    meaning: 'The SEV-SNP report signature does not verify with the VCEK/VLEK: the report was altered.',
  },
  ERR_SNP_TCB_MISMATCH: {
    step: 'snp-tcb',
    meaning: "The report's REPORTED_TCB differs from the TCB the VCEK endorses.",
  },
  ERR_SNP_HWID_MISMATCH: {
    step: 'snp-tcb',
    meaning: "The report's CHIP_ID is masked or differs from the VCEK's hwID.",
  },
  ERR_NITRO_CERT_INVALID: {
    step: 'nitro-chain',
    meaning: "A certificate in the Nitro document's chain does not parse or has unreadable dates.",
  },
  ERR_NITRO_CERT_EXPIRED: {
    step: 'nitro-chain',
    meaning: 'A certificate in the Nitro chain is not valid at the verification time.',
  },
  ERR_NITRO_CHAIN: { step: 'nitro-chain', meaning: 'The Nitro chain is empty, too long, or a link does not verify.' },
  ERR_NITRO_CHAIN_ROLE: {
    step: 'nitro-chain',
    meaning:
      'A Nitro chain certificate stands in a role it is not fit for (a self-signed intermediate, a repeated certificate).',
  },
  ERR_NITRO_ROOT_UNTRUSTED: {
    step: 'nitro-chain',
    meaning: "The Nitro chain's root is not a configured trust anchor (expected the AWS Nitro root G1).",
  },
  ERR_NITRO_SIGNATURE: {
    step: 'nitro-signature',
    meaning: "The Nitro document's COSE signature does not verify with the leaf certificate key.",
  },
  ERR_NITRO_TIMESTAMP: {
    step: 'nitro-document',
    meaning: "The Nitro document's timestamp lies outside its certificate chain's validity.",
  },
  ERR_NITRO_NONCE_MISMATCH: {
    step: 'nitro-binding',
    meaning: "The Nitro document's nonce is missing or not the expected one.",
  },
  ERR_RESULT_EVIDENCE_MISMATCH: {
    step: 'appraisal',
    meaning: "A quote verifier returned a result about other evidence than the certificate's.",
  },
  ERR_RESULT_NOT_VERIFIED: {
    step: 'appraisal',
    meaning: 'A quote verifier returned a result that no ratls appraiser produced.',
  },
  ERR_POLICY_INVALID: {
    step: 'policy',
    meaning: 'The policy file is invalid (syntax, unknown keys, bad hex lengths); the previous policy stays in force.',
  },
  ERR_POLICY_READ: { step: 'policy', meaning: 'The policy file cannot be read.' },
  ERR_POLICY_NOT_LOADED: { step: 'policy', meaning: 'No policy has been loaded yet.' },
  ERR_POLICY_WATCH: { step: 'policy', meaning: 'The policy directory cannot be watched; reload by signal instead.' },
  ERR_POLICY_REJECTED: {
    step: 'policy',
    meaning:
      'The evidence verified but the policy refused the peer; the reasons name the closest identity and the field that differed.',
  },
  ERR_AUDIT_SINK: { step: 'audit', meaning: 'The audit sink is invalid or its file cannot be opened.' },
  ERR_REPLAY_LINE_MALFORMED: {
    step: 'replay',
    meaning:
      '`ratls policy replay`: an audit line is not a JSON object or is longer than 64 KiB; it is reported and skipped.',
  },
  ERR_REPLAY_LINE_FOREIGN: {
    step: 'replay',
    meaning:
      '`ratls policy replay`: an audit line is JSON but not a ratls audit event (another program shares the file); reported and skipped.',
  },
  ERR_REPLAY_RECORD_INVALID: {
    step: 'replay',
    meaning:
      '`ratls policy replay`: a handshake event has no version 1 decision trace or its recorded attestation is invalid; it cannot be replayed.',
  },
  ERR_TLS_NO_PEER_CERTIFICATE: {
    step: 'tls',
    meaning: 'The peer presented no certificate; attested TLS requires one.',
  },
  ERR_TLS_HANDSHAKE_TIMEOUT: {
    step: 'tls',
    meaning: 'The handshake and attestation decision did not finish within the deadline.',
  },
  ERR_TLS_HANDSHAKE_FAILED: {
    step: 'tls',
    meaning: 'The TLS handshake failed (bad record, protocol mismatch, peer hung up).',
  },
  ERR_TLS_TOO_MANY_HANDSHAKES: {
    step: 'tls',
    meaning:
      'maxConcurrentHandshakes connections were already waiting for a decision; raise the limit or add capacity.',
  },
  ERR_TLS_TOO_MANY_FROM_SOURCE: {
    step: 'tls',
    meaning: 'maxPendingPerSource connections from this source were already waiting; the source may be flooding.',
  },
  ERR_TLS_CLIENT_HELLO_TIMEOUT: {
    step: 'tls',
    meaning: 'No TLS record header arrived within clientHelloTimeoutMs of accept.',
  },
  ERR_TLS_NOT_TLS_HANDSHAKE: {
    step: 'tls',
    meaning: 'The first bytes cannot start a TLS handshake (plain HTTP, SSLv2, a probe).',
  },
  ERR_TLS_PRE_TLS_TOO_LARGE: {
    step: 'tls',
    meaning: 'More bytes arrived before TLS than any pre-TLS reader may need.',
  },
  ERR_TLS_PRE_TLS_FAILED: {
    step: 'tls',
    meaning: 'A pre-TLS reader (PROXY v2, SSLRequest) threw or answered something impossible.',
  },
  ERR_TLS_APPRAISAL_TIMEOUT: {
    step: 'tls',
    meaning: 'Appraising the peer certificate took longer than appraisalTimeoutMs; check collateral latency.',
  },
  ERR_TLS_CERTIFICATE_TOO_LARGE: {
    step: 'tls',
    meaning: "The peer certificate is larger than the TLS layer's configured bound.",
  },
  ERR_TLS_APPRAISER_FAILED: {
    step: 'tls',
    meaning: 'The appraiser threw or returned something that is not a decision.',
  },
  ERR_TLS_RESULT_UNVERIFIED: {
    step: 'tls',
    meaning: 'An appraiser accepted with a result that no ratls appraiser produced.',
  },
  ERR_TLS_EARLY_DATA_OVERFLOW: { step: 'tls', meaning: 'The peer sent more than the hold limit before the decision.' },
  ERR_TLS_CLOSED_BEFORE_DECISION: { step: 'tls', meaning: 'The socket closed before a decision was made.' },
  ERR_TLS_NOT_TLS: { step: 'tls', meaning: 'The attested dispatcher was asked for a plain-text (non-TLS) origin.' },
  ERR_TLS_PEER_REJECTED: {
    step: 'tls',
    meaning: 'The peer was rejected and the decision carried no more specific code.',
  },
  ERR_TLS_SOURCE_RATE_LIMITED: {
    step: 'tls',
    meaning:
      'The source started more than maxHandshakesPerSecondPerSource handshakes per second; refused before any TLS work.',
  },
  ERR_CHANNEL_NO_BINDING: {
    step: 'channel',
    meaning:
      'The policy requires channel-bound evidence (freshness: channel) and the peer did not speak the channel protocol (a plain TLS client, application bytes first, no challenge answered): no fallback to certificate mode.',
  },
  ERR_CHANNEL_BINDING_MISMATCH: {
    step: 'channel',
    meaning:
      "The fresh evidence's report data is not the binder of this connection (stolen key, replayed or relayed evidence): treat the peer as an impostor.",
  },
  ERR_CHANNEL_IDENTITY_MISMATCH: {
    step: 'channel',
    meaning:
      'The fresh evidence names another enclave (TEE, measurement or signer) than the evidence in the certificate.',
  },
  ERR_CHANNEL_TLS_VERSION: {
    step: 'channel',
    meaning:
      'Channel binding needs TLS 1.3 (exporter and suite hash of RFC 8446); the connection negotiated an older version.',
  },
  ERR_CHANNEL_RESUMED: {
    step: 'channel',
    meaning:
      'The TLS session was resumed; channel mode refuses resumption (draft-fossati-seat-expat) so every connection gets fresh evidence.',
  },
  ERR_CHANNEL_TIMEOUT: {
    step: 'channel',
    meaning: 'The peer did not answer the channel challenge within the bound (channelTimeoutMs).',
  },
  ERR_CHANNEL_FRAME_INVALID: {
    step: 'channel',
    meaning:
      'A channel frame is malformed (bad magic, version, type, CBOR or field): the peer is not a ratls attester or is hostile.',
  },
  ERR_CHANNEL_FRAME_TOO_LARGE: {
    step: 'channel',
    meaning: 'A channel frame declares more bytes than the bound (maxChannelFrameBytes).',
  },
  ERR_CHANNEL_UNEXPECTED_FRAME: {
    step: 'channel',
    meaning: 'The peer sent a channel frame out of order or one too many (two answers to one challenge).',
  },
  ERR_CHANNEL_UNSUPPORTED: {
    step: 'channel',
    meaning:
      'Channel mode cannot run here: the appraiser has no channel appraisal, the cipher suite hash is unknown, or the side that must answer has no quote provider.',
  },
  ERR_CHANNEL_QUOTE_RATE_LIMITED: {
    step: 'channel',
    meaning: 'The attester refused to generate a quote: too many challenges from this source or too many queued.',
  },
  ERR_TLS_REFUSED_BY_SERVER: {
    step: 'tls',
    meaning:
      "The server refused this client's attestation: it said so (a 403 with x-ratls-refusal names the reason) or closed right after the handshake.",
  },
  ERR_HTTP_BAD_TARGET: { step: 'http', meaning: 'The request target is not a valid origin-form path (RFC 9112 §3.2).' },
  ERR_HTTP_ABSOLUTE_FORM: {
    step: 'http',
    meaning: 'The request uses absolute-form, which the gateway does not proxy.',
  },
  ERR_HTTP_ASTERISK_FORM: {
    step: 'http',
    meaning: 'The request uses asterisk-form (OPTIONS *), which the gateway does not proxy.',
  },
  ERR_HTTP_PATH_CHAR: { step: 'http', meaning: 'The request path contains a character RFC 3986 does not allow.' },
  ERR_HTTP_PERCENT_ENCODING: { step: 'http', meaning: 'The request path has a malformed percent-encoding.' },
  ERR_HTTP_ENCODED_SLASH: {
    step: 'http',
    meaning: 'The request path contains an encoded slash, which backends may decode differently.',
  },
  ERR_HTTP_ENCODED_CONTROL: { step: 'http', meaning: 'The request path contains an encoded control character.' },
  ERR_HTTP_DOUBLE_ENCODING: { step: 'http', meaning: 'The request path is percent-encoded twice.' },
  ERR_HTTP_BACKSLASH: { step: 'http', meaning: 'The request path contains a backslash.' },
  ERR_HTTP_PATH_PARAMETER: { step: 'http', meaning: 'A path parameter hides a dot segment (e.g. /..;/).' },
  ERR_HTTP_PATH_ESCAPES_BASE: { step: 'http', meaning: "The request path climbs above the route's base path." },
  ERR_HTTP_QUERY: { step: 'http', meaning: 'The query string contains characters RFC 3986 does not allow.' },
  ERR_HTTP_TE_AND_CL: {
    step: 'http',
    meaning: 'The request has both Transfer-Encoding and Content-Length (a desync attempt).',
  },
  ERR_HTTP_TRANSFER_ENCODING: { step: 'http', meaning: 'The Transfer-Encoding header is malformed.' },
  ERR_HTTP_TRANSFER_CODING: { step: 'http', meaning: 'The request uses a transfer coding other than chunked.' },
  ERR_HTTP_TE_HTTP10: { step: 'http', meaning: 'An HTTP/1.0 request carries Transfer-Encoding.' },
  ERR_HTTP_CONTENT_LENGTH: { step: 'http', meaning: 'The Content-Length header is malformed.' },
  ERR_HTTP_DUPLICATE_CONTENT_LENGTH: { step: 'http', meaning: 'The request has more than one Content-Length.' },
  ERR_HTTP_BODY_TOO_LARGE: { step: 'http', meaning: "The request body exceeds the route's limit." },
  ERR_HTTP_INCOMPLETE_BODY: { step: 'http', meaning: 'The request body ended before its declared length.' },
  ERR_HTTP_TOO_MANY_HEADERS: { step: 'http', meaning: 'The request has more header fields than allowed.' },
  ERR_HTTP_HEADERS_TOO_LARGE: { step: 'http', meaning: "The request's header section exceeds the size limit." },
  ERR_HTTP_MALFORMED_HEADER: { step: 'http', meaning: 'A header field is malformed.' },
  ERR_HTTP_MISSING_HOST: { step: 'http', meaning: 'The request has no Host header.' },
  ERR_HTTP_DUPLICATE_HOST: { step: 'http', meaning: 'The request has more than one Host header.' },
  ERR_HTTP_MALFORMED: { step: 'http', meaning: 'The request does not parse as HTTP/1.1.' },
  ERR_HTTP_REQUEST_TIMEOUT: { step: 'http', meaning: 'The request headers or body did not arrive in time.' },
  ERR_HTTP_CONNECT: { step: 'http', meaning: 'The request uses CONNECT, which the gateway does not proxy.' },
  ERR_HTTP_UPGRADE: {
    step: 'http',
    meaning: 'The request asks for a protocol upgrade, which the gateway does not proxy.',
  },
  ERR_HTTP_EXPECTATION: { step: 'http', meaning: 'The request carries an Expect value other than 100-continue.' },
  ERR_HTTP_NOT_ATTESTED: {
    step: 'http',
    meaning: 'The request arrived on a connection without an accepted attestation.',
  },
  ERR_HTTP_BAD_GATEWAY: {
    step: 'http',
    meaning: 'The backend could not be reached or answered badly; check the backend.',
  },
  ERR_HTTP_CLIENT_CLOSED: {
    step: 'http',
    meaning: 'The client closed the connection before the response was complete.',
  },
  ERR_HTTP_RESPONSE_INCOMPLETE: { step: 'http', meaning: "The backend's response ended before it was complete." },
  ERR_GATEWAY_CONFIG: {
    step: 'config',
    meaning: 'The gateway configuration file is invalid; the message gives file, line and path.',
  },
  ERR_GATEWAY_FILE: {
    step: 'config',
    meaning: 'A file the gateway configuration names (certificate, key, policy) cannot be read.',
  },
  ERR_GATEWAY_TLS: { step: 'config', meaning: "A listener's certificate or key is unusable." },
  ERR_GATEWAY_LISTEN: { step: 'config', meaning: 'A listener or the admin server cannot listen on its address.' },
  ERR_GATEWAY_POLICY: { step: 'policy', meaning: 'A listener names a policy file that is not loaded.' },
  ERR_GATEWAY_COLLATERAL: { step: 'config', meaning: "The gateway's collateral source cannot be built." },
  ERR_GATEWAY_RELOAD: { step: 'config', meaning: 'A reload failed; the previous configuration stays in force.' },
  ERR_GATEWAY_RELOAD_RESTART: {
    step: 'config',
    meaning: 'The change needs a restart to apply (listen address, admin); the rest of the reload is applied.',
  },
  ERR_GATEWAY_START: { step: 'config', meaning: 'The gateway failed to start; the cause is attached.' },
  ERR_GATEWAY_MAX_CONNECTIONS: {
    step: 'tls',
    meaning: 'A listener already held maxConnections connections, so Node closed the new one before TLS.',
  },
  ERR_CLIENT_CONFIG: {
    step: 'config',
    meaning: 'The `ratls client` configuration file is invalid; the message gives file, line and path.',
  },
  ERR_CLIENT_HOST_LOOPBACK: {
    step: 'config',
    meaning:
      'A client listener asks for loopback TCP where the loopback is outside the TEE (SGX under Gramine); use a UNIX socket or set allowHostLoopback.',
  },
  ERR_CLIENT_LISTEN: { step: 'config', meaning: 'A client listener or its admin server cannot listen on its address.' },
  ERR_CLIENT_START: { step: 'config', meaning: '`ratls client` failed to start; the cause is attached.' },
  ERR_CLIENT_UPSTREAM: {
    step: 'tls',
    meaning: "The client's connection to its server failed before a decision (refused, TLS error, CA check).",
  },
  ERR_ATTEST_WRITE: {
    step: 'config',
    meaning: '`ratls attest` cannot write the certificate or key file.',
  },
  // PROXY protocol v2 input (gateway listeners with `proxyProtocol: { from }`; HAProxy's proxy-protocol.txt §2.2).
  ERR_PROXY_SIGNATURE: {
    step: 'tls',
    meaning:
      'A connection from a configured balancer did not start with the PROXY v2 signature (v1 text is not spoken).',
  },
  ERR_PROXY_VERSION: { step: 'tls', meaning: 'The PROXY header names a version other than 2.' },
  ERR_PROXY_COMMAND: { step: 'tls', meaning: 'The PROXY v2 command is neither LOCAL nor PROXY.' },
  ERR_PROXY_FAMILY: {
    step: 'tls',
    meaning: 'A PROXY v2 header relays something other than TCP over IPv4 or IPv6 (UNSPEC, UDP, UNIX).',
  },
  ERR_PROXY_LENGTH: {
    step: 'tls',
    meaning: "The PROXY v2 length is above the gateway's bound or too short for the address block.",
  },
  ERR_PROXY_TLV: { step: 'tls', meaning: 'A PROXY v2 TLV runs past the header, or there are too many TLVs.' },
  ERR_PROXY_UNTRUSTED_SOURCE: {
    step: 'tls',
    meaning:
      "A PROXY v2 header came from an address not in the listener's proxyProtocol.from; only balancers may declare a source.",
  },
  // Gateway connections after the decision: backends over TLS, connection age, policy changes.
  ERR_GATEWAY_BACKEND_TLS: {
    step: 'tls',
    meaning:
      "The backend's TLS certificate did not verify against the configured CA and servername; nothing was forwarded.",
  },
  ERR_HTTP_BACKEND_TLS: {
    step: 'http',
    meaning: "The HTTPS backend's certificate did not verify against the configured CA and servername (502).",
  },
  ERR_GATEWAY_CONNECTION_AGE: {
    step: 'tls',
    meaning: "A connection reached the listener's maxConnectionAge and was closed so the client re-attests.",
  },
  ERR_GATEWAY_POLICY_CHANGED: {
    step: 'policy',
    meaning:
      "A reloaded policy no longer accepts this open connection's attestation, so it was closed (onPolicyChange: close).",
  },
  ERR_PG_PIPELINED: {
    step: 'tls',
    meaning:
      "A PostgreSQL client sent bytes after its SSLRequest or GSSENCRequest before the gateway's answer (the CVE-2021-23214 class); refused before TLS.",
  },
  ERR_PG_DIRECT_TLS_ALPN: {
    step: 'tls',
    meaning:
      'A direct TLS connection to a postgres listener did not offer ALPN "postgresql" (or its ClientHello is malformed).',
  },
  ERR_PG_TLS_REQUIRED: {
    step: 'tls',
    meaning:
      'A PostgreSQL client started in plaintext (no SSLRequest); use sslmode=require with an attested certificate.',
  },
  ERR_PG_CANCEL_RELAYED: {
    step: 'tls',
    meaning: "A CancelRequest matched a session this gateway relayed and was forwarded to that session's backend.",
  },
  ERR_PG_CANCEL_UNKNOWN: {
    step: 'tls',
    meaning:
      'A CancelRequest matched no session this gateway relayed (forged, stale, or sent to another gateway): dropped.',
  },
  ERR_PG_STARTUP_MALFORMED: {
    step: 'postgres',
    meaning: 'The StartupMessage is malformed, longer than 10000 bytes, not protocol 3, or names no user.',
  },
  ERR_PG_STARTUP_TIMEOUT: {
    step: 'postgres',
    meaning: 'No StartupMessage arrived within startupTimeoutMs of the decision.',
  },
  ERR_PG_ROLE_NOT_MAPPED: {
    step: 'postgres',
    meaning: "The accepted identity has no role in the listener's roles map.",
  },
  ERR_PG_ROLE_MISMATCH: {
    step: 'postgres',
    meaning: 'The client asked for another PostgreSQL role than the one mapped to its identity.',
  },
  ERR_PG_OPTIONS_REFUSED: {
    step: 'postgres',
    meaning:
      'The StartupMessage carries non-empty options (which can set role or session_authorization); refused, not stripped.',
  },
  ERR_PG_REPLICATION_REFUSED: { step: 'postgres', meaning: 'The client asked for a replication connection.' },
  ERR_PG_PARAMETER_REFUSED: {
    step: 'postgres',
    meaning:
      'The StartupMessage sets a parameter outside the forwarded set (role, session_authorization or another GUC).',
  },
  ERR_PG_BACKEND: {
    step: 'postgres',
    meaning: 'The PostgreSQL backend cannot be reached, or its start-up answer is malformed or too large.',
  },
  ERR_ADMIN_UNAUTHORIZED: {
    step: 'config',
    meaning:
      'An admin path beyond /livez, /readyz and /metrics was asked for without the admin credential (adminAuth: bearer token or client certificate); with no adminAuth configured, those paths always answer 401.',
  },
  ERR_ADMIN_HOST: {
    step: 'config',
    meaning: 'The admin request named a Host or Origin that is not an address of the gateway (DNS rebinding).',
  },
  ERR_CONFIG_KEY_TYPE: { step: 'keys', meaning: 'The key type is not P-256 or P-384.' },
  ERR_CONFIG_KEY_PAIR: { step: 'certificate', meaning: 'The key pair did not come from generateKeyPair().' },
  ERR_CONFIG_PROVIDER: { step: 'certificate', meaning: 'The quote provider does not implement getEvidence().' },
  ERR_CONFIG_CERT_FORMAT: { step: 'certificate', meaning: 'The certificate format is not dice, gramine or both.' },
  ERR_CONFIG_VALIDITY: {
    step: 'certificate',
    meaning: 'The certificate validity is out of range or its start time is invalid.',
  },
  ERR_CONFIG_NONCE: {
    step: 'certificate',
    meaning: 'The nonce is empty, too long, or requested with a format that cannot carry it.',
  },
  ERR_CONFIG_SUBJECT: { step: 'certificate', meaning: 'The subject CN is empty or longer than 64 characters.' },
  ERR_CONFIG_ALT_NAME: {
    step: 'certificate',
    meaning: 'A subject alternative name is neither an IP address nor a DNS name, or there are too many.',
  },
  ERR_CONFIG_ISSUER: {
    step: 'certificate',
    meaning: 'The issuer certificate or key for issued identities is unusable.',
  },
  ERR_CONFIG_RENEW_BEFORE: {
    step: 'credentials',
    meaning: 'renewBeforeSeconds is not between 0 and the certificate validity.',
  },
  ERR_CREDENTIALS_CLOSED: { step: 'credentials', meaning: 'renew() was called after close().' },
  ERR_CREDENTIALS_RENEWAL: {
    step: 'credentials',
    meaning: 'Renewing the attested credentials failed; the current certificate stays in use until it expires.',
  },
  ERR_PROVIDER_NOT_FOUND: {
    step: 'provider',
    meaning: 'No TEE attestation interface was found (device, configfs-tsm or Gramine pseudo-files).',
  },
  ERR_PROVIDER_UNSUPPORTED: {
    step: 'provider',
    meaning: 'The TEE interface exists but cannot be used from this runtime.',
  },
  ERR_PROVIDER_FAILED: { step: 'provider', meaning: 'The quote provider failed; the message carries its error.' },
  ERR_PROVIDER_IO: { step: 'provider', meaning: 'The provider hit an unexpected I/O failure.' },
  ERR_PROVIDER_READ: { step: 'provider', meaning: 'The provider cannot read a TEE interface file.' },
  ERR_PROVIDER_WRITE: { step: 'provider', meaning: 'The provider cannot write a TEE interface file.' },
  ERR_PROVIDER_MKDIR: { step: 'provider', meaning: 'The provider cannot create its configfs-tsm report entry.' },
  ERR_PROVIDER_CLEANUP: { step: 'provider', meaning: 'The provider cannot remove its configfs-tsm report entry.' },
  ERR_PROVIDER_OUTPUT_EMPTY: { step: 'provider', meaning: 'The TEE interface returned an empty file.' },
  ERR_PROVIDER_OUTPUT_TOO_LARGE: { step: 'provider', meaning: 'The TEE interface returned more bytes than the bound.' },
  ERR_PROVIDER_OUTPUT_TRUNCATED: { step: 'provider', meaning: 'The evidence returned ends before its report data.' },
  ERR_PROVIDER_UNEXPECTED_OUTPUT: {
    step: 'provider',
    meaning: 'The provider returned no evidence or evidence that does not parse.',
  },
  ERR_PROVIDER_REPORT_DATA_LENGTH: { step: 'provider', meaning: 'Report data must be exactly 64 bytes.' },
  ERR_PROVIDER_REPORT_DATA_MISMATCH: {
    step: 'provider',
    meaning: 'The evidence returned is for other report data than was written: another process raced the interface.',
  },
  ERR_PROVIDER_TEE_MISMATCH: {
    step: 'provider',
    meaning: 'The provider returned evidence for another TEE than it declares.',
  },
  ERR_PROVIDER_TEE_UNSUPPORTED: { step: 'provider', meaning: 'The provider has no report data layout for this TEE.' },
  ERR_PROVIDER_ATTESTATION_TYPE: {
    step: 'provider',
    meaning: 'Gramine is not configured for DCAP attestation (set sgx.remote_attestation = "dcap").',
  },
  ERR_PROVIDER_PRIVLEVEL: { step: 'provider', meaning: 'privlevel is out of range or given for a TEE without VMPLs.' },
  ERR_PROVIDER_UNKNOWN_TSM: {
    step: 'provider',
    meaning: 'The configfs-tsm provider is neither tdx_guest nor sev_guest.',
  },
  ERR_PROVIDER_GENERATION_INVALID: {
    step: 'provider',
    meaning: 'The configfs-tsm generation counter is not a decimal count.',
  },
  ERR_PROVIDER_GENERATION_MISMATCH: {
    step: 'provider',
    meaning: 'The configfs-tsm generation counter moved unexpectedly: another writer used the same entry.',
  },
  ERR_PROVIDER_INPUT_INVALID: { step: 'provider', meaning: 'An NSM request field is longer than the NSM accepts.' },
  ERR_PROVIDER_NSM_TRANSPORT: { step: 'provider', meaning: 'The ioctl to the Nitro Secure Module failed.' },
  ERR_PROVIDER_NSM_ERROR: { step: 'provider', meaning: 'The Nitro Secure Module refused the request.' },
  ERR_PROVIDER_NSM_RESPONSE: { step: 'provider', meaning: "The Nitro Secure Module's response is malformed." },
  ERR_SIM_CONFIG: { step: 'sim', meaning: 'A simulator option is invalid (bad hex, wrong length, unknown value).' },
  ERR_SIM_STATE: {
    step: 'sim',
    meaning: 'The simulation folder is missing, unreadable or its state.json is invalid; run `ratls sim init`.',
  },
  ERR_SIM_QUOTE: { step: 'sim', meaning: 'The simulator failed to build a quote.' },
  ERR_SIM_REPORT_DATA: {
    step: 'sim',
    aliasOf: 'ERR_PROVIDER_REPORT_DATA_LENGTH',
    deprecated: '0.2',
    meaning:
      'Deprecated alias of ERR_PROVIDER_REPORT_DATA_LENGTH (the simulated provider was given report data that is not 64 bytes).',
  },
  ERR_USAGE: { step: 'usage', meaning: 'A command-line flag or argument is invalid; see `ratls help`.' },
  ERR_INPUT_UNREADABLE: { step: 'usage', meaning: 'The CLI input file cannot be read or decoded.' },
  ERR_INPUT_UNRECOGNISED: {
    step: 'usage',
    meaning: 'The CLI input is not a certificate, quote, report or document ratls recognises.',
  },
  // issue 17: reference values from build artifacts (`ratls policy identity --from`).
  ERR_SIGSTRUCT_MALFORMED: {
    step: 'artifact',
    meaning:
      'The file is not an SGX SIGSTRUCT (1808 bytes with the fixed HEADER/HEADER2 and exponent 3); pass the Gramine .sig or the `sgx_sign dump -cssfile` output.',
  },
  ERR_SIGSTRUCT_SIGNATURE: {
    step: 'artifact',
    meaning:
      "The SIGSTRUCT's RSA-3072 signature does not verify under its own modulus: the file was altered after signing; do not take reference values from it.",
  },
  ERR_ARTIFACT_JSON_MALFORMED: {
    step: 'artifact',
    meaning:
      'The JSON artifact (nitro-cli describe-eif / build-enclave output) lacks the expected Measurements with 96-hex-digit PCRs.',
  },
  ERR_IDENTITY_CONFIG: {
    step: 'identity',
    meaning:
      'The identity authority configuration is invalid (trust domain, TTLs, CA key or certificate unreadable, mismatched or not a CA); fix the `identity:` section.',
  },
  ERR_IDENTITY_NOT_CHANNEL_BOUND: {
    step: 'identity',
    meaning:
      'No identity is issued for a decision that was not accepted under `freshness: channel` (certificate-mode evidence can be replayed by whoever stole the key); require channel freshness on the listener or identity.',
  },
  ERR_IDENTITY_DECISION_INVALID: {
    step: 'identity',
    meaning:
      'The decision handed to the issuer is not an accepted decision with a verified attestation result for the presented certificate; nothing is issued.',
  },
  ERR_IDENTITY_CSR_INVALID: {
    step: 'identity',
    meaning: 'The CSR is not a well-formed PKCS#10 request with a valid self-signature, or it exceeds the size bound.',
  },
  ERR_IDENTITY_KEY_MISMATCH: {
    step: 'identity',
    meaning:
      "The CSR's public key is not the attested TLS key of this connection; an enclave can only obtain a certificate for its own attested key.",
  },
  ERR_IDENTITY_NAME_INVALID: {
    step: 'identity',
    meaning: 'The identity name cannot be mapped to a SPIFFE ID (empty or too long).',
  },
  ERR_IDENTITY_TOKEN_INVALID: {
    step: 'identity',
    meaning:
      'An EAR token request is invalid (audience missing or not allowed, nonce too long) or no signing key is current.',
  },
  ERR_IDENTITY_JWKS_INVALID: {
    step: 'identity',
    meaning:
      'A JWKS document given to mergeJwks is not a JWKS (no keys array), has a key without kid or kty, carries a private key member, or exceeds the bounds.',
  },
  ERR_IDENTITY_JWKS_CONFLICT: {
    step: 'identity',
    meaning:
      "Two gateways' JWKS publish one kid with different keys; a verifier selects keys by kid, so the merge refuses rather than pick one. Give each gateway its own key ids.",
  },
  // --- TCB lifecycle (issue 17): signed TCB evaluation data numbers, grace anchor ---
  ERR_TCB_EVAL_NUMBERS_MALFORMED: {
    step: 'tcb-info',
    meaning:
      "The TCB evaluation data numbers JSON (PCS v4 tcbevaluationdatanumbers) does not have the fields and types Intel's schema requires, or is for another TEE.",
  },
  ERR_TCB_EVAL_NUMBERS_SIGNATURE: {
    step: 'tcb-info',
    meaning: 'The TCB evaluation data numbers signature does not verify over the exact signed JSON bytes.',
  },
  ERR_TCB_EVAL_NUMBER_MISSING: {
    step: 'tcb-info',
    meaning:
      "Intel's signed TCB evaluation data numbers list no TCB recovery event for the recovery that demoted the platform's level, so the grace window has no signed anchor and is refused.",
  },
  ERR_IDENTITY_REQUEST_INVALID: {
    step: 'identity',
    meaning:
      'A request to the gateway identity endpoint is malformed: unknown path or method, wrong content type, a body over 16 KiB, or JSON that is not `{ "aud", "nonce"? }`.',
  },
  ERR_IDENTITY_INTERNAL: {
    step: 'identity',
    meaning:
      'The gateway could not issue an identity for an accepted request (signing failed); the peer learns no more, the operational log has the cause.',
  },
  ERR_IDENTITY_RESPONSE_INVALID: {
    step: 'identity',
    meaning:
      "The gateway's answer to an identity request is not what was asked for (status, content type, size, no certificate for this key); nothing is written.",
  },
  ERR_CERT_TLS_KEY_MISMATCH: {
    step: 'certificate',
    meaning:
      "The TLS stack decoded another public key from the peer certificate than the certificate's SPKI as ratls reads it, so the handshake proved possession of a key the evidence does not bind; refuse and report the certificate (a parser differential).",
  },
} as const satisfies Record<`ERR_${string}`, ErrorCodeInfo>;

/** A registered error code: a `RatlsError` with any other code does not typecheck. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * True when `code` is in the registry (for codes that arrive as plain strings, e.g. from JSON).
 * @example isErrorCode('ERR_QUOTE_TRUNCATED') === true
 */
export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/**
 * The code an alias stands for, or the code itself.
 * @example canonicalCode('ERR_TIME_INVALID') === 'ERR_AT_INVALID'
 */
export function canonicalCode(code: ErrorCode): ErrorCode {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return info.aliasOf !== undefined && isErrorCode(info.aliasOf) ? info.aliasOf : code;
}

/**
 * True when `e` carries `code` or a registered alias of it (either spelling matches the other).
 * Use it where code matches errors, so a merge of synonyms does not break the match.
 * @example isCode(err, 'ERR_AT_INVALID') // also true for an error with code ERR_TIME_INVALID
 */
export function isCode(e: unknown, code: ErrorCode): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const c = (e as { code?: unknown }).code;
  return typeof c === 'string' && isErrorCode(c) && canonicalCode(c) === canonicalCode(code);
}
