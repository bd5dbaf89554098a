/**
 * `ratls policy replay`: re-evaluates the attestation results recorded in audit events against a
 * candidate policy with the same policy logic the live path runs (`evaluateClaims`), and lists the
 * decisions that would change. A replayed decision is an answer to "what would this policy have
 * said", made from recorded (unverified) claims: it admits nothing.
 */
import { RatlsError } from '@ratls/evidence';
import type { IdentityCheck } from '../policy/claims.js';
import { evaluateClaims } from '../policy/evaluate.js';
import type { Policy } from '../policy/types.js';
import type { BoundedLine } from './read-lines.js';
import { parseRecordedAttestation } from './recorded-attestation.js';

/** Longest audit line replay reads (a handshake event with its trace is about 2 KiB). */
export const MAX_REPLAY_LINE_BYTES = 64 * 1024;
const MAX_LISTED = 1000;

export type ReplayChangeKind = 'accept→refuse' | 'refuse→accept' | 'identity-renamed';

export interface ReplayOutcome {
  accept: boolean;
  identity?: string;
  /** `accepted` or the reason code of the refusal. */
  reason: string;
  /** Why, for a refusal (the policy's own explanation). */
  message?: string;
}

export interface ReplayChange {
  line: number;
  kind: ReplayChangeKind;
  '@timestamp': string;
  listener?: string;
  peer?: string;
  evidenceSha256: string;
  before: ReplayOutcome;
  after: ReplayOutcome;
}

export type ReplayProblemCode = 'ERR_REPLAY_LINE_MALFORMED' | 'ERR_REPLAY_LINE_FOREIGN' | 'ERR_REPLAY_RECORD_INVALID';

export interface ReplayProblem {
  line: number;
  code: ReplayProblemCode;
  message: string;
}

export interface ReplayReport {
  policyHash: string;
  /** `recorded`: each event at its own decision time; otherwise the one `--at` time (unix seconds). */
  time: 'recorded' | number;
  counts: {
    lines: number;
    handshakes: number;
    replayed: number;
    unchanged: number;
    acceptToRefuse: number;
    refuseToAccept: number;
    identityRenamed: number;
    /** Refused before the policy (verification failed, no certificate): no claims to replay. */
    notReplayable: number;
    /** Other ratls events (HTTP requests, reloads), not decisions. */
    otherEvents: number;
    problems: number;
  };
  /** Policy hashes the recorded decisions were made under. */
  recordedPolicies: string[];
  /** The first 1000 changes (counts are complete). */
  changes: ReplayChange[];
  /** The first 1000 problems (counts are complete). */
  problems: ReplayProblem[];
}

export interface ReplayOptions {
  /** Evaluate every event at this unix time instead of its recorded decision time. */
  at?: number;
  /** Only events of this gateway listener (`labels.listener`). */
  listener?: string;
}

interface Recorded {
  '@timestamp'?: unknown;
  ecs?: unknown;
  event?: { action?: unknown; reason?: unknown; outcome?: unknown };
  source?: { ip?: unknown; port?: unknown };
  destination?: { ip?: unknown; port?: unknown };
  labels?: { listener?: unknown };
  attestation?: { identity?: unknown; policy_hash?: unknown };
  trace?: { v?: unknown; at?: unknown; certNotBefore?: unknown; attestation?: unknown };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v.slice(0, 256) : undefined);

function peerOf(ev: Recorded): string | undefined {
  const e = ev.source ?? ev.destination;
  const ip = str(e?.ip);
  if (!ip) return undefined;
  return typeof e?.port === 'number' ? `${ip.includes(':') ? `[${ip}]` : ip}:${e.port}` : ip;
}

function changeKind(before: ReplayOutcome, after: ReplayOutcome): ReplayChangeKind | undefined {
  if (before.accept && !after.accept) return 'accept→refuse';
  if (!before.accept && after.accept) return 'refuse→accept';
  if (before.accept && after.accept && before.identity !== after.identity) return 'identity-renamed';
  return undefined;
}

/**
 * Replays audit lines against `policy`. Never throws on line content: unreadable, foreign and
 * invalid lines become `problems`.
 * @example
 * const report = await replayAudit(boundedLines(createReadStream('audit.jsonl'), MAX_REPLAY_LINE_BYTES), candidate);
 * if (report.counts.acceptToRefuse > 0) process.exitCode = 1;
 */
export async function replayAudit(
  lines: AsyncIterable<BoundedLine> | Iterable<BoundedLine>,
  policy: Policy,
  opts: ReplayOptions = {},
): Promise<ReplayReport> {
  const report: ReplayReport = {
    policyHash: policy.hash,
    time: opts.at ?? 'recorded',
    counts: {
      lines: 0,
      handshakes: 0,
      replayed: 0,
      unchanged: 0,
      acceptToRefuse: 0,
      refuseToAccept: 0,
      identityRenamed: 0,
      notReplayable: 0,
      otherEvents: 0,
      problems: 0,
    },
    recordedPolicies: [],
    changes: [],
    problems: [],
  };
  const policies = new Set<string>();
  const problem = (line: number, code: ReplayProblemCode, message: string) => {
    report.counts.problems += 1;
    if (report.problems.length < MAX_LISTED) report.problems.push({ line, code, message });
  };

  for await (const l of lines) {
    report.counts.lines += 1;
    if (l.tooLong) {
      problem(l.n, 'ERR_REPLAY_LINE_MALFORMED', `line is longer than ${MAX_REPLAY_LINE_BYTES} bytes`);
      continue;
    }
    if (l.text.trim() === '') continue;
    let ev: Recorded;
    try {
      const parsed: unknown = JSON.parse(l.text);
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      ev = parsed as Recorded;
    } catch {
      problem(l.n, 'ERR_REPLAY_LINE_MALFORMED', 'line is not a JSON object');
      continue;
    }
    const action = str(ev.event?.action);
    if (typeof ev.ecs !== 'object' || !action || typeof ev['@timestamp'] !== 'string') {
      problem(l.n, 'ERR_REPLAY_LINE_FOREIGN', 'line is JSON but not a ratls audit event');
      continue;
    }
    if (action !== 'ratls-handshake') {
      report.counts.otherEvents += 1;
      continue;
    }
    const listener = str(ev.labels?.listener);
    if (opts.listener !== undefined && listener !== opts.listener) continue;
    report.counts.handshakes += 1;
    const recordedHash = str(ev.attestation?.policy_hash);
    if (recordedHash) policies.add(recordedHash);
    const trace = ev.trace;
    if (trace && typeof trace === 'object' && trace.attestation === undefined && trace.v === 1) {
      report.counts.notReplayable += 1;
      continue;
    }
    if (!trace || typeof trace !== 'object' || trace.v !== 1) {
      problem(
        l.n,
        'ERR_REPLAY_RECORD_INVALID',
        'handshake event without a version 1 trace (written by an older ratls?)',
      );
      continue;
    }
    if (typeof trace.at !== 'number' || !Number.isSafeInteger(trace.at)) {
      problem(l.n, 'ERR_REPLAY_RECORD_INVALID', 'trace.at is not a unix time');
      continue;
    }
    let claims: ReturnType<typeof parseRecordedAttestation>;
    try {
      claims = parseRecordedAttestation(trace.attestation);
    } catch (e) {
      problem(
        l.n,
        'ERR_REPLAY_RECORD_INVALID',
        e instanceof RatlsError ? e.message : 'recorded attestation is unreadable',
      );
      continue;
    }
    const accepted = ev.event?.reason === 'accepted' && ev.event?.outcome === 'success';
    const identity = str(ev.attestation?.identity);
    const before: ReplayOutcome = {
      accept: accepted,
      ...(accepted && identity ? { identity } : {}),
      reason: str(ev.event?.reason) ?? 'unknown',
    };
    const checks: IdentityCheck[] = [];
    const notBefore = trace.certNotBefore;
    const d = evaluateClaims(policy, claims, {
      at: opts.at ?? trace.at,
      checks,
      ...(typeof notBefore === 'number' ? { certificate: { notBefore } } : {}),
    });
    const after: ReplayOutcome = d.accept
      ? { accept: true, identity: d.identity, reason: 'accepted' }
      : {
          accept: false,
          reason: d.reasons[0]?.code ?? 'no_decision',
          message: d.reasons
            .map((r) => r.message)
            .join('; ')
            .slice(0, 1024),
        };
    report.counts.replayed += 1;
    const kind = changeKind(before, after);
    if (!kind) {
      report.counts.unchanged += 1;
      continue;
    }
    if (kind === 'accept→refuse') report.counts.acceptToRefuse += 1;
    else if (kind === 'refuse→accept') report.counts.refuseToAccept += 1;
    else report.counts.identityRenamed += 1;
    if (report.changes.length < MAX_LISTED) {
      const peer = peerOf(ev);
      report.changes.push({
        line: l.n,
        kind,
        '@timestamp': ev['@timestamp'] as string,
        ...(listener ? { listener } : {}),
        ...(peer ? { peer } : {}),
        evidenceSha256: claims.evidenceSha256,
        before,
        after,
      });
    }
  }
  report.recordedPolicies = [...policies].slice(0, 64);
  return report;
}
