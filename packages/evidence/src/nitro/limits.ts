/** Size bounds for Nitro documents (AWS Nitro Enclaves attestation document spec, "Attestation document specification"). */
export const NITRO_MAX_DOCUMENT = 16 * 1024;
/** The spec bounds certificate and cabundle entries at 1..1024 bytes. */
export const NITRO_MAX_CERT = 1024;
export const NITRO_MAX_CABUNDLE = 16;
/** public_key / user_data / nonce; the spec says 1024 / 512 / 512, we accept up to 1024 for each. */
export const NITRO_MAX_OPTIONAL_FIELD = 1024;
export const NITRO_MAX_PCRS = 32;
/** COSE algorithm identifier for ECDSA P-384 with SHA-384 (RFC 9053 §2.1). */
export const COSE_ALG_ES384 = -35;
export const COSE_SIGN1_TAG = 18;
