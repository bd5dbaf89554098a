/** AMD processor lines whose TCB and certificates ratls understands. */
export type SnpProduct = 'Milan' | 'Genoa' | 'Turin';
export const SNP_PRODUCTS: readonly SnpProduct[] = ['Milan', 'Genoa', 'Turin'];

/** A decoded TCB_VERSION (ABI spec Table 3). `fmc` exists only on Turin (family 1Ah). */
export interface SnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number;
  /** The 8 raw bytes. */
  raw: Uint8Array;
}

export interface SnpPolicy {
  raw: bigint;
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
}

export interface SnpReport {
  version: number;
  guestSvn: number;
  policy: SnpPolicy;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: SnpTcb;
  platformInfo: bigint;
  /** Raw flags word at 0x48. */
  flags: number;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  /** Bits 4:2 of the flags: 0 = VCEK, 1 = VLEK, 7 = none. */
  signingKey: 'vcek' | 'vlek' | 'none';
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  reportedTcb: SnpTcb;
  /** Version 3+ only (else undefined). */
  cpuid?: { family: number; model: number; stepping: number };
  chipId: Uint8Array;
  committedTcb: SnpTcb;
  currentVersion: { major: number; minor: number; build: number };
  committedVersion: { major: number; minor: number; build: number };
  launchTcb: SnpTcb;
  /** The product whose TCB layout was used to decode the TCB fields. */
  product?: SnpProduct;
  /** Big-endian r and s (48 bytes each), converted from the little-endian report fields. */
  signature: { r: Uint8Array; s: Uint8Array };
  /** Bytes [0, 0x2A0): what the signature covers. */
  signedBytes: Uint8Array;
  /** The whole report. */
  raw: Uint8Array;
}
