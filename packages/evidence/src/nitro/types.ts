/**
 * A parsed AWS Nitro Enclaves attestation document (COSE_Sign1, RFC 9052 §4.2, with the payload
 * described in the AWS Nitro Enclaves "Verifying the root of trust" document).
 */
export interface NitroDocument {
  /** Raw bytes of the COSE protected header (the bstr content), signed as-is. */
  protectedHeader: Uint8Array;
  /** Raw bytes of the payload (the bstr content), signed as-is. */
  payload: Uint8Array;
  /** ES384 signature, raw r‖s (96 bytes). */
  signature: Uint8Array;
  /** COSE algorithm from the protected header; always -35 (ES384) after parsing. */
  alg: -35;
  /** True when the COSE_Sign1 array carried CBOR tag 18. */
  tagged: boolean;
  moduleId: string;
  /** Milliseconds since the Unix epoch, as the NSM reported it. */
  timestamp: number;
  /** Always "SHA384" after parsing. */
  digest: 'SHA384';
  /** PCR index → value (32, 48 or 64 bytes), in document order. */
  pcrs: Map<number, Uint8Array>;
  /** DER of the enclave's signing certificate. */
  certificate: Uint8Array;
  /** DER certificates, root first, ending at the leaf's issuer. */
  cabundle: Uint8Array[];
  publicKey: Uint8Array | null;
  userData: Uint8Array | null;
  nonce: Uint8Array | null;
}
