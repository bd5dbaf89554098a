/** The validated, normalized shape of a policy file (see docs/policy.md). Hex is lower case. */
import type { TcbStatus } from '../result.js';

export { TCB_STATUSES } from '@ratls/evidence';

/** `(actual & mask) === value`, both hex of the field's width. */
export interface MaskedHex {
  mask: string;
  value: string;
}

export interface AdvisoryRule {
  /** When present, every advisory on the platform must be listed here. Upper case. */
  allow?: string[];
  /** Any advisory listed here rejects; deny wins over allow. Upper case. */
  deny: string[];
}

/** Acceptance conditions besides measurements; identities may override any of them. */
export interface PolicyDefaults {
  tcbStatus: TcbStatus[];
  advisories: AdvisoryRule;
  debug: boolean;
  simulated: boolean;
  /** Seconds since the peer certificate's notBefore. */
  maxCertificateAge?: number;
  /** `channel`: the peer must answer a challenge with fresh evidence bound to this TLS connection (default `certificate`). */
  freshness?: 'certificate' | 'channel';
  /** Unix seconds: the matched TCB level's tcbDate must be at least this (SGX, TDX). */
  minTcbDate?: number;
  /**
   * Days after the signed TCB recovery that demoted the level (result `tcbRecoveryDate`) during
   * which `OutOfDate` is still accepted; the connection is valid only until the window ends.
   */
  outOfDateGraceDays?: number;
  /**
   * Where the grace window starts: `tcbRecoveryEventDate` (default) from Intel's signed TCB
   * evaluation data numbers, else no grace; `tcbRecoveryEventDateElseLevelTcbDate` falls back to
   * the next newer level's signed tcbDate (`tcbRecoveryDate`) when those numbers are unavailable.
   */
  outOfDateGraceAnchor?: 'tcbRecoveryEventDate' | 'tcbRecoveryEventDateElseLevelTcbDate';
}

/**
 * A named, dated exception: accepts the listed TCB statuses and/or advisory IDs for the listed
 * identities (all when absent) strictly before `until`. Past `until` it does nothing at all.
 */
export interface Waiver {
  name: string;
  identities?: string[];
  tcbStatus: TcbStatus[];
  /** Upper case. */
  advisories: string[];
  /** Unix seconds (exclusive). */
  until: number;
  reason: string;
}

/** The pseudo-waiver name recorded when `outOfDateGraceDays` admitted a peer. */
export const GRACE_WAIVER = 'outOfDateGrace';

/** Intel TDX module ABI, TDATTRIBUTES bit positions (bit n is byte n>>3 of the little-endian field). */
export const TD_ATTRIBUTE_BITS = {
  DEBUG: 0,
  SEPT_VE_DISABLE: 28,
  MIGRATABLE: 29,
  PKS: 30,
  KL: 31,
  PERFMON: 63,
} as const;
export type TdAttributeBit = keyof typeof TD_ATTRIBUTE_BITS;

/** AMD SEV-SNP ABI (56860) section 4.3, guest POLICY bit positions. */
export const SNP_POLICY_BITS = {
  SMT: 16,
  MIGRATE_MA: 18,
  DEBUG: 19,
  SINGLE_SOCKET: 20,
  CXL_ALLOW: 21,
  MEM_AES_256_XTS: 22,
  RAPL_DIS: 23,
  CIPHERTEXT_HIDING: 24,
  PAGE_SWAP_DISABLE: 25,
} as const;
export type SnpPolicyBit = keyof typeof SNP_POLICY_BITS;

export interface SgxIdentity {
  mrEnclave?: string[];
  mrSigner?: string[];
  isvProdId?: number;
  minIsvSvn?: number;
  attributes?: MaskedHex;
}

export interface TdxIdentity {
  mrTd?: string[];
  rtmr0?: string[];
  rtmr1?: string[];
  rtmr2?: string[];
  rtmr3?: string[];
  mrSeam?: string[];
  mrConfigId?: string[];
  mrOwner?: string[];
  mrOwnerConfig?: string[];
  tdAttributes?: MaskedHex;
  mrServiceTd?: string[];
  xfam?: MaskedHex;
  /** true: the bit must be set; false: it must be clear. */
  tdAttributeBits?: Partial<Record<TdAttributeBit, boolean>>;
}

export interface SnpIdentity {
  measurement?: string[];
  hostData?: string[];
  idKeyDigest?: string[];
  authorKeyDigest?: string[];
  minTcb?: { bootloader?: number; tee?: number; snp?: number; microcode?: number };
  vmpl?: number;
  chipId?: string[];
  /** true: the bit must be set; false: it must be clear. */
  policyBits?: Partial<Record<SnpPolicyBit, boolean>>;
}

export interface NitroIdentity {
  pcr0?: string[];
  pcr1?: string[];
  pcr2?: string[];
  pcr3?: string[];
  pcr4?: string[];
  pcr8?: string[];
}

export type IdentityTee =
  | { kind: 'sgx'; sgx: SgxIdentity }
  | { kind: 'tdx'; tdx: TdxIdentity }
  | { kind: 'snp'; snp: SnpIdentity }
  | { kind: 'nitro'; nitro: NitroIdentity };

export type PolicyIdentity = IdentityTee & {
  name: string;
  /** The defaults with this identity's overrides applied. */
  effective: PolicyDefaults;
};

export interface Policy {
  /** 2 adds `vmpl: 0` to every SNP identity that names no level; 1 is deprecated. */
  readonly version: 1 | 2;
  readonly defaults: PolicyDefaults;
  readonly identities: readonly PolicyIdentity[];
  readonly waivers: readonly Waiver[];
  /** Non-fatal findings on load (deprecations), for `policy check` and reload logs. */
  readonly warnings: readonly string[];
  /** SHA-256 of the exact file bytes, hex: recorded in every decision and audit event. */
  readonly hash: string;
  /** Where the policy came from (file path or the `source` given to parsePolicy). */
  readonly source: string;
}

/** One problem found while validating a policy file, located in the file. */
export interface PolicyIssue {
  source: string;
  line: number;
  column: number;
  /** Field path like `identities[1].sgx.mrEnclave[0]`, or `` for the document. */
  path: string;
  message: string;
}

/** Stable reason codes of a rejection (bounded set: used as metric labels and audit `event.reason`). */
export type ReasonCode =
  | 'measurement_mismatch'
  | 'debug_not_allowed'
  | 'tcb_status_not_allowed'
  | 'advisory_not_allowed'
  | 'simulated_not_allowed'
  | 'certificate_too_old'
  | 'tee_not_allowed'
  | 'unverified_result'
  | 'tcb_date_too_old';

export const REASON_CODES: readonly ReasonCode[] = [
  'measurement_mismatch',
  'debug_not_allowed',
  'tcb_status_not_allowed',
  'advisory_not_allowed',
  'simulated_not_allowed',
  'certificate_too_old',
  'tee_not_allowed',
  'unverified_result',
  'tcb_date_too_old',
];

export interface Reason {
  code: ReasonCode;
  message: string;
  identity?: string;
}

/** What every decision records about the collateral it relied on (DCAP only). */
export interface DecisionTcb {
  tcbEvaluationDataNumber?: number;
}

export type Decision =
  | ({
      accept: true;
      identity: string;
      policyHash: string;
      reasons: [];
      /** Names of the waivers (or GRACE_WAIVER) without which this peer would be refused. */
      waivers?: string[];
      /** Unix seconds: the earliest waiver/grace end; the connection must close by then. */
      validUntil?: number;
    } & DecisionTcb)
  | ({
      accept: false;
      reasons: Reason[];
      closest?: { identity: string; mismatches: string[] };
      policyHash: string;
    } & DecisionTcb);
