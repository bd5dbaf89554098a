/**
 * Why one decision went the way it did, read once from its audit event (the decision trace,
 * docs/audit.md "Decision trace", and the `attestation` fields) for every view: the live page, the
 * static report and the alerts. The browser script renders this, never the trace itself, so the
 * page and the report cannot read the same trace two ways. The event may come from a file (the
 * report), so every member is type-checked and bounded here: nothing is trusted to have a shape.
 */
import type { AuditEvent } from '@ratls/verifier';

/** What a row of the console says about one decision. */
export interface DecisionWhy {
  /** The identity that accepted the peer, or on refusal the one that came closest. */
  identity?: string;
  /** Refusals: the measurement fields in which the closest identity differed (`trace.policy[].f`). */
  differs: string[];
  /** Refusals: the conditions (reason codes) that refused the closest identity once it matched (`r`). */
  conditions: string[];
  /** The field or condition that decided (`trace.decidedBy.field`). */
  decidedBy?: string;
  /** Verification failures: the step that failed and its code (`trace.steps[]`). */
  failedStep?: { step: string; code?: string };
  /** Accepted only under these policy waivers (or `outOfDateGrace`): `attestation.waiver`. */
  waivers: string[];
  /** With `waivers`: when the exception ends (`attestation.valid_until`). */
  validUntil?: string;
  /**
   * The collateral the decision relied on: `tee/fmspc` (SGX, TDX) or `sev-snp/product`, and the end
   * of the result's collateral window (`trace.attestation.collateralWindow.notAfter`: the earliest
   * nextUpdate or expiry of every CRL, TCB info and certificate used).
   */
  collateral?: { key: string; notAfter: string };
  /** One line for the row. */
  text: string;
}

/** One decision as every view holds it: the audit event whole, under its id, with its explanation. */
export interface ConsoleEntry {
  id: string;
  ev: AuditEvent;
  why: DecisionWhy;
}

const MAX_LIST = 16;
const MAX_NAME = 128;
const MAX_TEXT = 512;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v.length > 0 ? v.slice(0, MAX_NAME) : undefined;
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.slice(0, MAX_LIST).flatMap((x) => (typeof x === 'string' ? [x.slice(0, MAX_NAME)] : [])) : [];
const record = (v: unknown): Record<string, unknown> | undefined =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * Explains one handshake decision from its audit event.
 * @example explainDecision(ev).text // 'payments differs in mrEnclave'
 */
export function explainDecision(ev: AuditEvent): DecisionWhy {
  const a = record(ev.attestation) ?? {};
  const trace = record((ev as { trace?: unknown }).trace);
  const accepted = ev.event?.outcome === 'success';
  const decided = record(trace?.decidedBy);
  const identity = accepted
    ? (str(a.identity) ?? str(decided?.identity))
    : (str(decided?.identity) ?? str(a.closest_identity));
  const why: DecisionWhy = { differs: [], conditions: [], waivers: [], text: '' };
  if (identity) why.identity = identity;
  const field = str(decided?.field);
  if (field) why.decidedBy = field;
  const tried = Array.isArray(trace?.policy) ? trace.policy.slice(0, 32).map(record) : [];
  const closest = identity ? tried.find((t) => t?.id === identity) : undefined;
  if (!accepted && closest) {
    why.differs = strings(closest.f);
    why.conditions = strings(closest.r);
  }
  const steps = Array.isArray(trace?.steps) ? trace.steps.slice(0, 16).map(record) : [];
  const failed = steps.find((s) => s?.ok === false && str(s.step) !== 'policy');
  if (failed) {
    const code = str(failed.code);
    why.failedStep = { step: str(failed.step) ?? 'verify', ...(code ? { code } : {}) };
  }
  if (accepted) {
    why.waivers = str(a.waiver)?.split(',').filter(Boolean) ?? [];
    const until = str(a.valid_until);
    if (why.waivers.length && until) why.validUntil = until;
  }
  const col = collateralOf(trace);
  if (col) why.collateral = col;
  why.text = describe(ev, why, accepted).slice(0, MAX_TEXT);
  return why;
}

/** Dates a trace may carry: unix seconds within what `Date` can hold. */
const MAX_UNIX_S = 8.64e12;

function collateralOf(trace: Record<string, unknown> | undefined): DecisionWhy['collateral'] {
  const c = record(trace?.collateral);
  const att = record(trace?.attestation);
  const tee = str(att?.tee);
  const name = str(c?.fmspc) ?? str(c?.snpProduct);
  const notAfter = record(att?.collateralWindow)?.notAfter;
  if (!tee || !name || typeof notAfter !== 'number' || !Number.isFinite(notAfter)) return undefined;
  if (notAfter < 0 || notAfter > MAX_UNIX_S) return undefined;
  return { key: `${tee}/${name}`, notAfter: new Date(notAfter * 1000).toISOString() };
}

function describe(ev: AuditEvent, why: DecisionWhy, accepted: boolean): string {
  if (accepted) {
    if (!why.waivers.length) return '';
    return `accepted under waiver ${why.waivers.join(', ')}${why.validUntil ? ` until ${why.validUntil}` : ''}`;
  }
  const who = why.identity ?? 'no identity';
  if (why.differs.length) return `${who} differs in ${why.differs.join(', ')}`;
  if (why.conditions.length) return `${who} matched, refused by ${why.conditions.join(', ')}`;
  if (why.failedStep) return `${why.failedStep.step} failed${why.failedStep.code ? `: ${why.failedStep.code}` : ''}`;
  // An event without a trace (an older gateway's log): the policy's own explanation.
  return typeof ev.error?.message === 'string' ? ev.error.message.slice(0, MAX_TEXT) : '';
}

/**
 * The entry every view holds for one decision; the same id everywhere (see `eventId`).
 * @example consoleEntry(ev, eventId(ev)).why.differs // ['mrEnclave']
 */
export function consoleEntry(ev: AuditEvent, id: string): ConsoleEntry {
  return { id, ev, why: explainDecision(ev) };
}
