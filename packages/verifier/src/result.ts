/**
 * The normalized outcome of appraisal. JSON-friendly: hex lower-case, times unix seconds.
 * Only appraisers create results (`markVerified`, internal: not exported from the package root);
 * `isVerifiedResult` lets the TLS layer and policy refuse a look-alike object built by a caller
 * (rustls' "proof value" idea). A registered result is deep-frozen, so editing a genuine result
 * (a different mrEnclave) throws instead of producing a "verified" lie, and a copy (spread,
 * structuredClone, JSON round trip) is a new object that the registry does not know.
 */

import type { TcbStatus } from '@ratls/evidence';
import { deepFreeze } from './freeze.js';

export type { TcbStatus };

export interface SgxMeasurements {
  mrEnclave: string;
  mrSigner: string;
  isvProdId: number;
  isvSvn: number;
  attributes: string;
  reportData: string;
  configSvn?: number;
  miscSelect?: string;
}

export interface TdxMeasurements {
  mrTd: string;
  rtmr0: string;
  rtmr1: string;
  rtmr2: string;
  rtmr3: string;
  mrSeam: string;
  tdAttributes: string;
  reportData: string;
  xfam?: string;
  mrConfigId?: string;
  mrOwner?: string;
  mrOwnerConfig?: string;
  mrServiceTd?: string;
  teeTcbSvn?: string;
}

export interface SnpMeasurements {
  measurement: string;
  hostData: string;
  idKeyDigest: string;
  authorKeyDigest: string;
  reportData: string;
  policy: string;
  vmpl: number;
  reportedTcb: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
  chipId: string;
  signingKey: 'vcek' | 'vlek';
  product?: string;
}

export interface NitroMeasurements {
  moduleId: string;
  digest: string;
  pcrs: Record<string, string>;
  userData?: string;
  publicKey?: string;
  nonce?: string;
  timestamp: number;
}

interface ResultBase {
  /** True when the trust anchor that verified this was a simulated root (never production). */
  simulated: boolean;
  /** SHA-256 of the evidence bytes (quote, report, document), hex. */
  evidenceSha256: string;
  debug: boolean;
  /** Intersection of every certificate, CRL and collateral validity period used (unix seconds). */
  collateralWindow: { notBefore: number; notAfter: number };
}

export interface DcapResultBase extends ResultBase {
  quoteVersion: number;
  tcbStatus: TcbStatus;
  platformTcbStatus: TcbStatus;
  qeTcbStatus: TcbStatus;
  advisoryIds: string[];
  fmspc: string;
  /** tcbDate of the matched TCB level (ISO 8601). */
  tcbDate?: string;
  /** The signed TCB info's tcbEvaluationDataNumber (Intel's TCB recovery counter) used. */
  tcbEvaluationDataNumber?: number;
  /**
   * When the matched platform level is not the newest: the tcbDate (ISO 8601) of the next newer
   * level in the same signed TCB info, i.e. the TCB recovery that demoted this level. The anchor of
   * a policy's `outOfDateGraceDays`; taken only from Intel-signed collateral, never from a clock.
   */
  tcbRecoveryDate?: string;
  /**
   * The `tcbRecoveryEventDate` (ISO 8601) that Intel's signed TCB evaluation data numbers give for
   * the recovery that demoted this level (the entry whose tcbDate is `tcbRecoveryDate`): the
   * grace window's anchor. Absent when the collateral carried no such list or it did not verify.
   */
  tcbRecoveryEventDate?: string;
  /** That recovery's tcbEvaluationDataNumber. */
  tcbRecoveryEvaluationDataNumber?: number;
  /** Why `tcbRecoveryEventDate` is absent for a demoted level (an ERR_ code), for the refusal's message. */
  graceAnchorError?: string;
  /** Which signed collateral decided the TCB status (recorded in decision traces; unix seconds). */
  collateralVersions?: { tcbInfoIssueDate: number; qeIdentityIssueDate: number; tcbEvaluationDataNumber: number };
}

export interface SgxResult extends DcapResultBase {
  tee: 'sgx';
  measurements: SgxMeasurements;
}

export interface TdxResult extends DcapResultBase {
  tee: 'tdx';
  tdxModuleTcbStatus: TcbStatus;
  tdxModuleId?: string;
  measurements: TdxMeasurements;
}

export interface SnpResult extends ResultBase {
  tee: 'sev-snp';
  reportVersion: number;
  measurements: SnpMeasurements;
}

export interface NitroResult extends ResultBase {
  tee: 'nitro';
  measurements: NitroMeasurements;
}

export type AttestationResult = SgxResult | TdxResult | SnpResult | NitroResult;
export type DcapResult = SgxResult | TdxResult;

/** Module-private: only `markVerified` adds to it, so membership is the proof. */
const verified = new WeakSet<object>();

/**
 * Internal to appraisers: deep-freezes `r` and records that it came out of a completed appraisal.
 * Deliberately absent from the package's export list; tests forge through @ratls/test-support.
 * @example return markVerified(result) // last line of an appraiser
 */
export function markVerified<T extends AttestationResult>(r: T): T {
  deepFreeze(r, true);
  verified.add(r);
  return r;
}

/**
 * True only for results produced by a ratls appraiser in this process.
 * @example if (!isVerifiedResult(r)) throw new Error('forged result')
 */
export function isVerifiedResult(r: unknown): r is AttestationResult {
  return typeof r === 'object' && r !== null && verified.has(r);
}
