/**
 * ATTESTATION_REPORT layout, AMD SEV-SNP Firmware ABI specification (rev 1.55+), Table 22
 * "ATTESTATION_REPORT Structure". All integers little-endian. Versions 2..5 share the 1184-byte size.
 */
export const SNP_REPORT_SIZE = 0x4a0;
/** The signature covers bytes [0x000, 0x2A0). */
export const SNP_SIGNED_LENGTH = 0x2a0;

export const OFF = {
  version: 0x000,
  guestSvn: 0x004,
  policy: 0x008,
  familyId: 0x010,
  imageId: 0x020,
  vmpl: 0x030,
  signatureAlgo: 0x034,
  currentTcb: 0x038,
  platformInfo: 0x040,
  flags: 0x048,
  reportData: 0x050,
  measurement: 0x090,
  hostData: 0x0c0,
  idKeyDigest: 0x0e0,
  authorKeyDigest: 0x110,
  reportId: 0x140,
  reportIdMa: 0x160,
  reportedTcb: 0x180,
  /** Version 3+: CPUID family, model, stepping of the chip (ABI spec 1.55). */
  cpuidFamId: 0x188,
  cpuidModId: 0x189,
  cpuidStep: 0x18a,
  chipId: 0x1a0,
  committedTcb: 0x1e0,
  currentBuild: 0x1e8,
  currentMinor: 0x1e9,
  currentMajor: 0x1ea,
  committedBuild: 0x1ec,
  committedMinor: 0x1ed,
  committedMajor: 0x1ee,
  launchTcb: 0x1f0,
  /** Version 5+ (ABI spec 1.58): mitigation vectors. */
  launchMitVector: 0x1f8,
  currentMitVector: 0x200,
  signatureR: 0x2a0,
  signatureS: 0x2e8,
} as const;

/** r and s are 72-byte little-endian, zero-extended fields (ABI spec Table 139 "ECDSA P-384 with SHA-384 Signature"). */
export const SNP_SIG_COMPONENT = 72;
/** SIGNATURE_ALGO 1 = ECDSA P-384 with SHA-384 (ABI spec Table 138). */
export const SNP_SIG_ALGO_ECDSA_P384_SHA384 = 1;

/** Guest policy bits (ABI spec Table 9 "Guest Policy Structure"). */
export const POLICY = {
  smt: 16n,
  reservedMbo: 17n,
  migrateMa: 18n,
  debug: 19n,
  singleSocket: 20n,
  cxlAllow: 21n,
  memAes256Xts: 22n,
  raplDis: 23n,
  ciphertextHiding: 24n,
  pageSwapDisable: 25n,
} as const;
