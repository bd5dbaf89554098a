/**
 * A QuoteProvider asks the TEE for evidence whose report data is the 64 bytes given.
 * Implementations: Gramine `/dev/attestation`, Linux configfs-tsm, Nitro NSM, simulated.
 */
export type TeeKind = 'sgx' | 'tdx' | 'sev-snp' | 'nitro';

export interface Evidence {
  tee: TeeKind;
  /** Quote (SGX/TDX), attestation report (SNP) or COSE_Sign1 document (Nitro). */
  evidence: Uint8Array;
  /** Extra material the platform hands out with the evidence (configfs-tsm auxblob: SNP cert table). */
  aux?: Uint8Array;
}

export interface QuoteProvider {
  readonly name: string;
  readonly tee: TeeKind;
  /** `reportData` is exactly 64 bytes. */
  getEvidence(reportData: Uint8Array): Promise<Evidence>;
}
