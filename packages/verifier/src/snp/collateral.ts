import type { SnpProduct, SnpTcb } from '@ratls/evidence';

/** What the SNP appraiser asks for when the evidence does not carry its certificates. */
export interface SnpVcekRequest {
  product: SnpProduct;
  /** The report's CHIP_ID (64 bytes; KDS uses the first 8 on Turin). */
  chipId: Uint8Array;
  /** The report's REPORTED_TCB. */
  tcb: SnpTcb;
}

/**
 * A source of SNP collateral (AMD KDS, a cache, files). Implementations bound every wait and throw
 * `CollateralError` on failure.
 */
export interface SnpCollateralSource {
  /** VCEK DER for a chip at a TCB. */
  getVcek(req: SnpVcekRequest, opts?: { signal?: AbortSignal }): Promise<Uint8Array>;
  /** PEM chain, intermediate (ASK or ASVK) first, then the ARK, as KDS `cert_chain` serves it. */
  getCertChain(product: SnpProduct, kind: 'vcek' | 'vlek', opts?: { signal?: AbortSignal }): Promise<string>;
  /** DER CRL signed by the ARK. */
  getCrl?(product: SnpProduct, kind: 'vcek' | 'vlek', opts?: { signal?: AbortSignal }): Promise<Uint8Array>;
}
