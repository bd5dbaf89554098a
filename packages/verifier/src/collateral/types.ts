/**
 * DCAP collateral. `QuoteCollateralV3Json` is the snake_case layout used by dcap-qvl and by
 * `vectors/dcap-cases/*.collateral.json`: TCB info and QE identity are the *exact signed JSON
 * strings* (never re-serialized), signatures raw r‖s hex, CRLs DER hex, issuer chains PEM leaf first.
 */
export interface QuoteCollateralV3Json {
  pck_crl_issuer_chain: string;
  root_ca_crl: string;
  pck_crl: string;
  tcb_info_issuer_chain: string;
  tcb_info: string;
  tcb_info_signature: string;
  qe_identity_issuer_chain: string;
  qe_identity: string;
  qe_identity_signature: string;
}

/** Normalized collateral, bytes not hex. */
export interface DcapCollateral {
  pckCrlIssuerChainPem: string;
  rootCaCrl: Uint8Array;
  pckCrl: Uint8Array;
  tcbInfoIssuerChainPem: string;
  /** Exact signed JSON text of the `tcbInfo` object. */
  tcbInfoJson: string;
  tcbInfoSignature: Uint8Array;
  qeIdentityIssuerChainPem: string;
  /** Exact signed JSON text of the `enclaveIdentity` object. */
  qeIdentityJson: string;
  qeIdentitySignature: Uint8Array;
}

/** What a verifier asks a collateral source for. */
export interface CollateralRequest {
  tee: 'sgx' | 'tdx';
  /** 6 bytes, lower-case hex. */
  fmspc: string;
  /** Which PCK CA issued the leaf (from the PCK chain's intermediate). */
  pckCa: 'processor' | 'platform';
}

/**
 * Anything that can produce collateral for a quote: a fixed file, Intel PCS/PCCS, a cache.
 * Implementations must bound every wait and throw `CollateralError` on failure.
 */
export interface CollateralSource {
  getCollateral(req: CollateralRequest, opts?: { signal?: AbortSignal }): Promise<DcapCollateral>;
}
