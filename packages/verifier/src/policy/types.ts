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
}

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
}

export interface SnpIdentity {
  measurement?: string[];
  hostData?: string[];
  idKeyDigest?: string[];
  authorKeyDigest?: string[];
  minTcb?: { bootloader?: number; tee?: number; snp?: number; microcode?: number };
  vmpl?: number;
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
  readonly version: 1;
  readonly defaults: PolicyDefaults;
  readonly identities: readonly PolicyIdentity[];
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
  | 'unverified_result';

export const REASON_CODES: readonly ReasonCode[] = [
  'measurement_mismatch',
  'debug_not_allowed',
  'tcb_status_not_allowed',
  'advisory_not_allowed',
  'simulated_not_allowed',
  'certificate_too_old',
  'tee_not_allowed',
  'unverified_result',
];

export interface Reason {
  code: ReasonCode;
  message: string;
  identity?: string;
}

export type Decision =
  | { accept: true; identity: string; policyHash: string; reasons: [] }
  | {
      accept: false;
      reasons: Reason[];
      closest?: { identity: string; mismatches: string[] };
      policyHash: string;
    };
