/**
 * Applies a policy to a verified attestation result: the relying-party step of RFC 9334.
 * The first identity whose measurements and effective conditions all match names the peer;
 * a rejection says which identity came closest and what differed.
 */
import { type AttestationResult, isVerifiedResult } from '../result.js';
import type { UnixSeconds } from '../time.js';
import type { IdentityCheck, RecordedClaims } from './claims.js';
import {
  type Decision,
  GRACE_WAIVER,
  type MaskedHex,
  type Policy,
  type PolicyDefaults,
  type PolicyIdentity,
  type Reason,
  type ReasonCode,
  SNP_POLICY_BITS,
  type SnpPolicyBit,
  TD_ATTRIBUTE_BITS,
  type TdAttributeBit,
  type Waiver,
} from './types.js';

interface FieldCheck {
  field: string;
  ok: boolean;
  /** Why it did not match, e.g. `isvSvn 1 < 3`. */
  detail: string;
}

const MAX_CANDIDATES_IN_MESSAGE = 5;
const MAX_REASONS = 16;

function short(hex: string): string {
  return hex.length > 8 ? `${hex.slice(0, 8)}…` : hex;
}

function inList(field: string, actual: string, allowed: readonly string[] | undefined, out: FieldCheck[]): void {
  if (!allowed) return;
  const a = actual.toLowerCase();
  const ok = allowed.includes(a);
  const want = allowed.length === 1 ? short(allowed[0] as string) : `one of ${allowed.length} allowed values`;
  out.push({ field, ok, detail: ok ? '' : `${field} ${a ? short(a) : '(not reported)'} is not ${want}` });
}

function atLeast(field: string, actual: number, min: number | undefined, out: FieldCheck[]): void {
  if (min === undefined) return;
  const ok = actual >= min;
  out.push({ field, ok, detail: ok ? '' : `${field} ${actual} < ${min}` });
}

function equal(field: string, actual: number, want: number | undefined, out: FieldCheck[]): void {
  if (want === undefined) return;
  const ok = actual === want;
  out.push({ field, ok, detail: ok ? '' : `${field} ${actual} ≠ ${want}` });
}

function maskedMatch(field: string, actual: string, rule: MaskedHex | undefined, out: FieldCheck[]): void {
  if (!rule) return;
  const a = Buffer.from(actual, 'hex');
  const mask = Buffer.from(rule.mask, 'hex');
  const value = Buffer.from(rule.value, 'hex');
  // A result of another width cannot satisfy the rule: fail closed.
  let ok = a.length === mask.length && actual.length === rule.mask.length;
  for (let i = 0; ok && i < mask.length; i++) ok = ((a[i] as number) & (mask[i] as number)) === value[i];
  out.push({ field, ok, detail: ok ? '' : `${field} ${short(actual.toLowerCase())} & mask ≠ ${short(rule.value)}` });
}

/** Named bits: `isSet(bit)` reads the result; each pinned name must be set (true) or clear (false). */
function bitsMatch<K extends string>(
  field: string,
  rule: Partial<Record<K, boolean>> | undefined,
  isSet: (name: K) => boolean | undefined,
  out: FieldCheck[],
): void {
  if (!rule) return;
  for (const [name, want] of Object.entries(rule) as [K, boolean | undefined][]) {
    if (want === undefined) continue;
    const got = isSet(name);
    // A field the result does not carry cannot prove a bit either way: fail closed.
    const ok = got === want;
    const state = got === undefined ? 'not reported' : got ? 'set' : 'clear';
    out.push({
      field: `${field}.${name}`,
      ok,
      detail: ok ? '' : `${field}.${name} is ${state}, policy requires ${want ? 'set' : 'clear'}`,
    });
  }
}

/** TDATTRIBUTES is a little-endian 64-bit field in the TD report (TDX module ABI, TDREPORT_STRUCT). */
function tdBit(hex: string, name: TdAttributeBit): boolean | undefined {
  const bytes = Buffer.from(hex, 'hex');
  if (bytes.length !== 8 || hex.length !== 16) return undefined;
  const n = TD_ATTRIBUTE_BITS[name];
  return (((bytes[n >> 3] as number) >> (n & 7)) & 1) === 1;
}

/** The SNP result carries POLICY as the 64-bit number in hex (16 digits). */
function snpBit(hex: string, name: SnpPolicyBit): boolean | undefined {
  if (!/^[0-9a-f]{16}$/i.test(hex)) return undefined;
  return ((BigInt(`0x${hex}`) >> BigInt(SNP_POLICY_BITS[name])) & 1n) === 1n;
}

/** Measurement checks of one identity against a result of the same TEE. */
function measurementChecks(id: PolicyIdentity, r: AttestationResult): FieldCheck[] {
  const out: FieldCheck[] = [];
  if (id.kind === 'sgx' && r.tee === 'sgx') {
    const m = r.measurements;
    inList('mrEnclave', m.mrEnclave, id.sgx.mrEnclave, out);
    inList('mrSigner', m.mrSigner, id.sgx.mrSigner, out);
    equal('isvProdId', m.isvProdId, id.sgx.isvProdId, out);
    atLeast('isvSvn', m.isvSvn, id.sgx.minIsvSvn, out);
    maskedMatch('attributes', m.attributes, id.sgx.attributes, out);
  } else if (id.kind === 'tdx' && r.tee === 'tdx') {
    const m = r.measurements;
    const t = id.tdx;
    inList('mrTd', m.mrTd, t.mrTd, out);
    inList('rtmr0', m.rtmr0, t.rtmr0, out);
    inList('rtmr1', m.rtmr1, t.rtmr1, out);
    inList('rtmr2', m.rtmr2, t.rtmr2, out);
    inList('rtmr3', m.rtmr3, t.rtmr3, out);
    inList('mrSeam', m.mrSeam, t.mrSeam, out);
    // Optional in the result: absent means "not reported", which never satisfies a pin.
    inList('mrConfigId', m.mrConfigId ?? '', t.mrConfigId, out);
    inList('mrOwner', m.mrOwner ?? '', t.mrOwner, out);
    inList('mrOwnerConfig', m.mrOwnerConfig ?? '', t.mrOwnerConfig, out);
    maskedMatch('tdAttributes', m.tdAttributes, t.tdAttributes, out);
    inList('mrServiceTd', m.mrServiceTd ?? '', t.mrServiceTd, out);
    maskedMatch('xfam', m.xfam ?? '', t.xfam, out);
    bitsMatch('tdAttributes', t.tdAttributeBits, (n) => tdBit(m.tdAttributes, n), out);
  } else if (id.kind === 'snp' && r.tee === 'sev-snp') {
    const m = r.measurements;
    const s = id.snp;
    inList('measurement', m.measurement, s.measurement, out);
    inList('hostData', m.hostData, s.hostData, out);
    inList('idKeyDigest', m.idKeyDigest, s.idKeyDigest, out);
    inList('authorKeyDigest', m.authorKeyDigest, s.authorKeyDigest, out);
    atLeast('tcb.bootloader', m.reportedTcb.bootloader, s.minTcb?.bootloader, out);
    atLeast('tcb.tee', m.reportedTcb.tee, s.minTcb?.tee, out);
    atLeast('tcb.snp', m.reportedTcb.snp, s.minTcb?.snp, out);
    atLeast('tcb.microcode', m.reportedTcb.microcode, s.minTcb?.microcode, out);
    equal('vmpl', m.vmpl, s.vmpl, out);
    inList('chipId', m.chipId, s.chipId, out);
    bitsMatch('policy', s.policyBits, (n) => snpBit(m.policy, n), out);
  } else if (id.kind === 'nitro' && r.tee === 'nitro') {
    const pcrs = r.measurements.pcrs;
    for (const n of [0, 1, 2, 3, 4, 8] as const) {
      inList(`pcr${n}`, pcrs[String(n)] ?? '', id.nitro[`pcr${n}`], out);
    }
  }
  return out;
}

interface Gates {
  reasons: Reason[];
  /** Waivers (or the grace window) that turned a refusal into an accept. */
  waivers: string[];
  validUntil?: number;
}

/** Unix seconds of an ISO 8601 date from signed collateral, or undefined when unusable. */
function isoSeconds(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) ? Math.floor(ms / 1000) : undefined;
}

/**
 * The grace window's end for an OutOfDate peer, or undefined when it does not apply. The anchor is
 * the `tcbRecoveryEventDate` Intel's signed TCB evaluation data numbers give for the recovery that
 * demoted the platform level; without it, only a policy naming
 * `outOfDateGraceAnchor: tcbRecoveryEventDateElseLevelTcbDate` falls back to that level's signed
 * tcbDate. A QE or TDX module that is itself out of date gets no grace: fail closed.
 */
function graceEnd(eff: PolicyDefaults, r: AttestationResult): number | undefined {
  if (eff.outOfDateGraceDays === undefined || (r.tee !== 'sgx' && r.tee !== 'tdx')) return undefined;
  if (r.tcbStatus !== 'OutOfDate' || r.platformTcbStatus !== 'OutOfDate' || r.qeTcbStatus === 'OutOfDate') {
    return undefined;
  }
  if (r.tee === 'tdx' && r.tdxModuleTcbStatus === 'OutOfDate') return undefined;
  const fallback = eff.outOfDateGraceAnchor === 'tcbRecoveryEventDateElseLevelTcbDate';
  const anchor = isoSeconds(r.tcbRecoveryEventDate) ?? (fallback ? isoSeconds(r.tcbRecoveryDate) : undefined);
  return anchor === undefined ? undefined : anchor + eff.outOfDateGraceDays * 86400;
}

/** The effective conditions besides measurements; each failure carries its reason code. */
function gateReasons(
  eff: PolicyDefaults,
  r: AttestationResult,
  name: string,
  certNotBefore: number | undefined,
  at: number,
  allWaivers: readonly Waiver[],
): Gates {
  const out: Reason[] = [];
  const used = new Map<string, number>();
  const add = (code: ReasonCode, message: string) => out.push({ code, message, identity: name });
  // An expired waiver, or one for other identities, is filtered out here: it then refuses exactly as if absent.
  const waivers = allWaivers.filter((w) => at < w.until && (!w.identities || w.identities.includes(name)));
  if (r.debug && !eff.debug)
    add('debug_not_allowed', `${name}: the peer runs in debug mode, which its policy does not allow`);
  if (r.simulated && !eff.simulated) {
    add('simulated_not_allowed', `${name}: the evidence chains to a simulated root, which its policy does not allow`);
  }
  if (r.tee === 'sgx' || r.tee === 'tdx') {
    if (!eff.tcbStatus.includes(r.tcbStatus)) {
      const grace = graceEnd(eff, r);
      const w = waivers.find((x) => x.tcbStatus.includes(r.tcbStatus));
      if (grace !== undefined && at < grace) used.set(GRACE_WAIVER, grace);
      else if (w) used.set(w.name, w.until);
      else {
        // Grace configured but unanchored: say which signed data was missing (a specific code).
        const why =
          eff.outOfDateGraceDays !== undefined &&
          r.tcbStatus === 'OutOfDate' &&
          grace === undefined &&
          r.graceAnchorError
            ? ` (no grace: ${r.graceAnchorError}, no signed tcbRecoveryEventDate for the recovery that demoted the level)`
            : '';
        add(
          'tcb_status_not_allowed',
          `${name}: TCB status ${r.tcbStatus} is not in [${eff.tcbStatus.join(', ')}]${why}`,
        );
      }
    }
    const ids = r.advisoryIds.map((a) => a.toUpperCase());
    const allow = eff.advisories.allow;
    // Each advisory the policy refuses must be named by some live waiver, one by one.
    const waive = (list: string[]) =>
      list.filter((a) => {
        const w = waivers.find((x) => x.advisories.includes(a));
        if (w) used.set(w.name, w.until);
        return !w;
      });
    const denied = waive(ids.filter((a) => eff.advisories.deny.includes(a)));
    const notAllowed = allow ? waive(ids.filter((a) => !allow.includes(a) && !eff.advisories.deny.includes(a))) : [];
    if (denied.length > 0) add('advisory_not_allowed', `${name}: advisories ${denied.join(', ')} are denied`);
    else if (notAllowed.length > 0) {
      add('advisory_not_allowed', `${name}: advisories ${notAllowed.join(', ')} are not in the allow list`);
    }
    if (eff.minTcbDate !== undefined) {
      const tcbDate = isoSeconds(r.tcbDate);
      if (tcbDate === undefined || tcbDate < eff.minTcbDate) {
        const want = new Date(eff.minTcbDate * 1000).toISOString();
        add(
          'tcb_date_too_old',
          `${name}: TCB level date ${r.tcbDate ?? '(not reported)'} is before minTcbDate ${want}`,
        );
      }
    }
  }
  if (eff.maxCertificateAge !== undefined) {
    if (certNotBefore === undefined) {
      add('certificate_too_old', `${name}: maxCertificateAge is set but the certificate's notBefore is unknown`);
    } else if (at - certNotBefore > eff.maxCertificateAge) {
      add(
        'certificate_too_old',
        `${name}: certificate is ${at - certNotBefore}s old; the limit is ${eff.maxCertificateAge}s`,
      );
    }
  }
  const ends = [...used.values()];
  return {
    reasons: out,
    waivers: [...used.keys()].sort(),
    ...(ends.length > 0 ? { validUntil: Math.min(...ends) } : {}),
  };
}

const TEE_OF_KIND = { sgx: 'sgx', tdx: 'tdx', snp: 'sev-snp', nitro: 'nitro' } as const;

/**
 * Decides whether a verified attestation result is acceptable under `policy`.
 * `ctx.at` is the decision time in unix seconds (required: policy never reads a clock); `ctx.certificate.notBefore`
 * (unix seconds) is needed when a maxCertificateAge applies.
 *
 * @example
 * const d = evaluatePolicy(policy, socket.attestation, { at: Math.floor(Date.now() / 1000) });
 * if (!d.accept) socket.destroy(); else console.log('peer is', d.identity);
 */
export function evaluatePolicy(
  policy: Policy,
  result: AttestationResult,
  ctx: { certificate?: { notBefore: number }; at: UnixSeconds | number; checks?: IdentityCheck[] },
): Decision {
  if (!isVerifiedResult(result)) {
    return {
      accept: false,
      policyHash: policy.hash,
      reasons: [
        {
          code: 'unverified_result',
          message: 'the attestation result was not produced by a ratls appraiser in this process',
        },
      ],
    };
  }
  return evaluateClaims(policy, result, ctx);
}

/**
 * The policy logic itself, over claims that may be merely recorded: for `evaluatePolicy` (after its
 * verified-result check) and for replay, which must decide exactly as the live path does. The
 * Decision it returns admits nothing by itself. `ctx.checks`, when given, receives one entry per
 * identity tried (the decision trace of audit events).
 *
 * @example
 * const d = evaluateClaims(candidate, recorded, { at: recordedAt }); // what the candidate would decide
 */
export function evaluateClaims(
  policy: Policy,
  result: RecordedClaims,
  ctx: { certificate?: { notBefore: number }; at: UnixSeconds | number; checks?: IdentityCheck[] },
): Decision {
  const policyHash = policy.hash;
  const at = ctx.at;
  const tcb =
    (result.tee === 'sgx' || result.tee === 'tdx') && result.tcbEvaluationDataNumber !== undefined
      ? { tcbEvaluationDataNumber: result.tcbEvaluationDataNumber }
      : {};
  const candidates = policy.identities.filter((id) => TEE_OF_KIND[id.kind] === result.tee);
  if (candidates.length === 0) {
    return {
      accept: false,
      policyHash,
      ...tcb,
      reasons: [{ code: 'tee_not_allowed', message: `the policy has no identity for TEE ${result.tee}` }],
    };
  }

  const gateFailures: Reason[] = [];
  let gateClosest: { identity: string; mismatches: string[] } | undefined;
  let best: { id: PolicyIdentity; checks: FieldCheck[]; matched: number } | undefined;
  const partial: { id: PolicyIdentity; checks: FieldCheck[] }[] = [];
  for (const id of candidates) {
    const checks = measurementChecks(id, result);
    const matched = checks.filter((c) => c.ok).length;
    const failed = checks.filter((c) => !c.ok).map((c) => c.field);
    // An identity that pins nothing (only possible in a hand-built Policy) matches nothing.
    if (checks.length > 0 && matched === checks.length) {
      const gates = gateReasons(id.effective, result, id.name, ctx.certificate?.notBefore, at, policy.waivers ?? []);
      ctx.checks?.push({ identity: id.name, failed, refused: gates.reasons.map((g) => g.code) });
      if (gates.reasons.length === 0) {
        return {
          accept: true,
          identity: id.name,
          policyHash,
          reasons: [],
          ...tcb,
          ...(gates.waivers.length > 0 ? { waivers: gates.waivers } : {}),
          ...(gates.validUntil !== undefined ? { validUntil: gates.validUntil } : {}),
        };
      }
      gateFailures.push(...gates.reasons);
      gateClosest ??= { identity: id.name, mismatches: gates.reasons.map((g) => g.message) };
      continue;
    }
    ctx.checks?.push({ identity: id.name, failed: checks.length ? failed : ['(nothing pinned)'], refused: [] });
    partial.push({ id, checks });
    if (!best || matched > best.matched) best = { id, checks, matched };
  }

  // Measurements matched somewhere: the peer is known, but a condition refused it.
  if (gateFailures.length > 0) {
    return {
      accept: false,
      policyHash,
      ...tcb,
      reasons: gateFailures.slice(0, MAX_REASONS),
      ...(gateClosest ? { closest: gateClosest } : {}),
    };
  }

  const parts = partial.slice(0, MAX_CANDIDATES_IN_MESSAGE).map(({ id, checks }) => {
    const ok = checks.filter((c) => c.ok).map((c) => c.field);
    const bad = checks.filter((c) => !c.ok).map((c) => c.detail);
    if (ok.length === 0) return `${id.name}: ${bad.join(', ')}`;
    return `${ok.join(', ')} ${ok.length === 1 ? 'matches' : 'match'} ${id.name} but ${bad.join(', ')}`;
  });
  if (partial.length > MAX_CANDIDATES_IN_MESSAGE)
    parts.push(`and ${partial.length - MAX_CANDIDATES_IN_MESSAGE} more identities`);
  const decision: Decision = {
    accept: false,
    policyHash,
    ...tcb,
    reasons: [{ code: 'measurement_mismatch', message: `no ${result.tee} identity matched: ${parts.join('; ')}` }],
  };
  if (best)
    decision.closest = { identity: best.id.name, mismatches: best.checks.filter((c) => !c.ok).map((c) => c.detail) };
  return decision;
}

/**
 * One line for logs.
 * @example decisionSummary(d) // 'accept identity=payments policy=1a2b3c4d'
 */
export function decisionSummary(decision: Decision): string {
  const policy = `policy=${decision.policyHash.slice(0, 8)}`;
  if (decision.accept) {
    const w = decision.waivers?.length ? ` waiver=${decision.waivers.join(',')}` : '';
    return `accept identity=${decision.identity}${w} ${policy}`;
  }
  const first = decision.reasons[0];
  const more = decision.reasons.length > 1 ? ` (+${decision.reasons.length - 1} more)` : '';
  const closest = decision.closest ? ` closest=${decision.closest.identity}` : '';
  const line = `reject ${first?.code ?? 'unknown'}${closest} ${policy}: ${first?.message ?? ''}${more}`;
  return line.length > 1024 ? `${line.slice(0, 1023)}…` : line;
}
