/** DCAP collateral: the JSON layout lives in @ratls/evidence (a data format shared with the simulator). */
export type { QuoteCollateralV3Json } from '@ratls/evidence';

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
  /**
   * Intel's signed TCB evaluation data numbers (PCS v4 `tcbevaluationdatanumbers`): the body as
   * received and its issuer chain. Optional: without it an OutOfDate grace window has no signed
   * anchor (refused unless the policy names the fallback).
   */
  tcbEvaluationDataNumbers?: { body: string; issuerChainPem: string };
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
