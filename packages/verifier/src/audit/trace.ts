/**
 * The decision trace every handshake audit event carries (`trace`, schema in docs/audit.md): which
 * steps ran and how they ended, which policy identity and field decided, the collateral versions the
 * TCB status came from, and the whole attestation result in a versioned form (`attestation.v`), so
 * `ratls policy replay` can re-evaluate a policy later without the evidence. Pure and bounded.
 */
import { ERROR_CODES, isErrorCode } from '@ratls/evidence';
import type { IdentityCheck } from '../policy/claims.js';
import type { Decision } from '../policy/types.js';
import type { AttestationResult } from '../result.js';
import { shareSerialized } from './line.js';

/** Version of the trace object and of its `attestation` member; replay refuses other versions. */
export const TRACE_VERSION = 1;
const MAX_IDENTITIES = 32;
const MAX_FIELDS = 16;

/** How one pipeline step ended. `code` only on failure. */
export interface TraceStep {
  step: string;
  ok: boolean;
  code?: string;
}

/** The policy clause that decided: the identity that accepted, or the closest one and what refused it. */
export interface TraceDecidedBy {
  identity?: string;
  /** The first measurement field that differed, or the first condition (reason code) that refused. */
  field?: string;
}

/** Which signed collateral the TCB status came from (DCAP) or which product and TCB the report named (SNP). */
export interface TraceCollateral {
  fmspc?: string;
  tcbEvaluationDataNumber?: number;
  /** Unix seconds. */
  tcbInfoIssueDate?: number;
  /** Unix seconds. */
  qeIdentityIssueDate?: number;
  tcbDate?: string;
  snpProduct?: string;
  reportedTcb?: { bootloader: number; tee: number; snp: number; microcode: number; fmc?: number };
}

/**
 * The attestation result, versioned: the `AttestationResult` JSON plus `v`, without what binds the
 * TLS key (report data; Nitro's user data, public key and nonce), which audit events never log and
 * no policy reads. Recorded, not verified.
 */
export type TraceAttestation = { v: typeof TRACE_VERSION } & Record<string, unknown>;

/** Every policy input of the result; the key binding stays out of the log (docs/audit.md). */
function recordableOf(r: AttestationResult): TraceAttestation {
  if (r.tee === 'nitro') {
    const { userData: _u, publicKey: _p, nonce: _n, ...measurements } = r.measurements;
    return { v: TRACE_VERSION, ...r, measurements };
  }
  const { reportData: _r, ...measurements } = r.measurements;
  return { v: TRACE_VERSION, ...r, measurements };
}

/**
 * Recorded forms of deeply frozen results. Every verified result is (`markVerified`), and a cached
 * one is the same object for every connection that reuses it: they share one recorded form, built
 * and serialized once (./line.ts). A fresh result costs one walk and its one serialization.
 */
const recorded = new WeakMap<AttestationResult, TraceAttestation>();

/** True when `v` and everything reachable from it is frozen (what a cached verified result is). */
function deeplyFrozen(v: unknown, depth = 0): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (!Object.isFrozen(v) || depth > 8) return false;
  for (const k of Object.keys(v)) if (!deeplyFrozen((v as Record<string, unknown>)[k], depth + 1)) return false;
  return true;
}

function recordable(r: AttestationResult): TraceAttestation {
  const known = recorded.get(r);
  if (known !== undefined) return known;
  const t = recordableOf(r);
  // Shared only when nothing in it can change later: a result someone may still edit is
  // serialized with its event, every time.
  if (!deeplyFrozen(r)) return t;
  // Its members are the result's own frozen objects; the two new ones are frozen here.
  Object.freeze(t.measurements);
  Object.freeze(t);
  shareSerialized(t);
  recorded.set(r, t);
  return t;
}

export interface DecisionTrace {
  v: typeof TRACE_VERSION;
  /** Decision time, unix seconds (what replay uses unless told `--at`). */
  at: number;
  steps: TraceStep[];
  /** Identities tried in policy order (`f` fields that differed, `r` conditions that refused). */
  policy?: { id: string; f?: string[]; r?: string[] }[];
  decidedBy?: TraceDecidedBy;
  collateral?: TraceCollateral;
  /** The peer certificate's notBefore (unix seconds), an input of `maxCertificateAge`. */
  certNotBefore?: number;
  attestation?: TraceAttestation;
}

export interface TraceInput {
  at: Date;
  decision?: Decision;
  result?: AttestationResult;
  error?: { code: string; message: string };
  checks?: readonly IdentityCheck[];
  certificate?: { notBefore: number };
}

function collateralOf(r: AttestationResult): TraceCollateral | undefined {
  if (r.tee === 'sgx' || r.tee === 'tdx') {
    const c: TraceCollateral = { fmspc: r.fmspc };
    if (r.collateralVersions) {
      c.tcbEvaluationDataNumber = r.collateralVersions.tcbEvaluationDataNumber;
      c.tcbInfoIssueDate = r.collateralVersions.tcbInfoIssueDate;
      c.qeIdentityIssueDate = r.collateralVersions.qeIdentityIssueDate;
    }
    if (r.tcbDate) c.tcbDate = r.tcbDate;
    return c;
  }
  if (r.tee === 'sev-snp') {
    return {
      ...(r.measurements.product ? { snpProduct: r.measurements.product } : {}),
      reportedTcb: r.measurements.reportedTcb,
    };
  }
  return undefined;
}

function decidedBy(d: Decision, checks: readonly IdentityCheck[] | undefined): TraceDecidedBy {
  if (d.accept) return { identity: d.identity };
  const identity = d.closest?.identity;
  const tried = checks?.find((c) => c.identity === identity);
  const field = tried?.refused[0] ?? tried?.failed[0] ?? d.reasons[0]?.code;
  return { ...(identity ? { identity } : {}), ...(field ? { field } : {}) };
}

/**
 * Builds the trace of one handshake decision.
 * @example buildDecisionTrace({ at: new Date(), decision, result, checks }).decidedBy // { identity: 'payments' }
 */
export function buildDecisionTrace(input: TraceInput): DecisionTrace {
  const t: DecisionTrace = { v: TRACE_VERSION, at: Math.floor(input.at.getTime() / 1000), steps: [] };
  if (input.error) {
    const code = String(input.error.code).slice(0, 64);
    const step = isErrorCode(code) ? ERROR_CODES[code].step : 'verify';
    t.steps.push({ step, ok: false, code });
  } else if (input.result) {
    // A result exists only when the certificate parsed, its binding held and the appraisal completed.
    t.steps.push({ step: 'certificate', ok: true }, { step: 'binding', ok: true }, { step: 'appraisal', ok: true });
  }
  const d = input.decision;
  if (d) {
    t.steps.push({ step: 'policy', ok: d.accept, ...(d.accept ? {} : { code: d.reasons[0]?.code ?? 'no_decision' }) });
    if (input.checks?.length) {
      t.policy = input.checks.slice(0, MAX_IDENTITIES).map((c) => ({
        id: c.identity.slice(0, 128),
        ...(c.failed.length ? { f: c.failed.slice(0, MAX_FIELDS) } : {}),
        ...(c.refused.length ? { r: c.refused.slice(0, MAX_FIELDS) } : {}),
      }));
    }
    t.decidedBy = decidedBy(d, input.checks);
  }
  if (input.result) {
    const c = collateralOf(input.result);
    if (c) t.collateral = c;
    if (input.certificate) t.certNotBefore = input.certificate.notBefore;
    t.attestation = recordable(input.result);
  }
  return t;
}
