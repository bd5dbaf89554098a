/**
 * The gateway's early TCB warning (issue 17, `earlyTcb: true`): every accepted SGX/TDX peer is
 * appraised a second time against Intel's `update=early` TCB info and QE identity, fetched from
 * the same PCCS (PCS API v4 `update` parameter), so operators see which identities the next TCB
 * recovery will demote before it reaches `standard`. It never decides: the handshake was already
 * accepted by the standard appraisal and the policy. It writes one audit warning per peer
 * (identity + quote), and feeds `ratls_early_tcb_at_risk` and the /healthz detail.
 *
 * With `workers > 1` the monitor lives in the cluster primary only (it owns PCCS, the audit writer
 * and /healthz): a worker forwards each certificate-mode accept (early-ipc.ts) and the primary
 * re-appraises the quote against its own standard collateral before `observeQuote`, so the
 * dedupe, the warning and the metric exist once per gateway.
 */
import { createHash } from 'node:crypto';
import { ERROR_CODES, extractEvidence, isErrorCode } from '@ratls/evidence';
import {
  type AuditLog,
  buildEarlyTcbWarningEvent,
  type CollateralSource,
  createQuoteVerifier,
  type DcapResult,
  type EarlyAssessment,
  type EarlyIdentityStatus,
  type EarlyRiskCount,
  EarlyTcbWatch,
  PccsCollateralSource,
  type PeerDecision,
  type QuoteVerifier,
} from '@ratls/verifier';
import type { Verification } from './appraiser.js';
import type { GatewayConfig } from './config/config.js';
import type { GatewayLog } from './log.js';

/** Per identity, what the early set makes of its accepted peers (for /healthz and the console). */
export interface EarlyTcbIdentity extends EarlyIdentityStatus {
  identity: string;
}

/** What a listener calls on each certificate-mode accept (the monitor, or a cluster worker's forwarder). */
export interface EarlyTcbObserver {
  /** Schedules the early appraisal of an accepted handshake; returns at once, never throws. */
  observe(der: Uint8Array, d: PeerDecision, listener: string): void;
}

/** An accepted SGX/TDX quote with the standard result this process appraised it to. */
export interface EarlyTcbQuote {
  identity: string;
  quote: Uint8Array;
  /** Verified here: a branded result from this process's quote verifier, never one received over IPC. */
  standard: DcapResult;
  listener: string;
}

export interface EarlyTcbMonitor extends EarlyTcbObserver {
  /**
   * Schedules the early appraisal of a quote whose standard result this process verified (the
   * cluster primary, after re-appraising a worker's quote); resolves when it is done, never rejects,
   * with true when the watch now remembers this identity and quote (a definite outcome: asking
   * again changes nothing) and false when it will appraise it again (early collateral unavailable).
   */
  observeQuote(q: EarlyTcbQuote): Promise<boolean>;
  /** Identities with at least one peer seen, sorted by name. */
  identities(): EarlyTcbIdentity[];
  /** Peers at risk per identity and early status (the metric's series). */
  atRiskCounts(): EarlyRiskCount[];
  /**
   * Resolves when no early appraisal is in flight (tests, shutdown), or after `timeoutMs` (then
   * with false): a drain never waits on a slow PCCS longer than the caller allows.
   */
  whenIdle(timeoutMs?: number): Promise<boolean>;
}

export interface EarlyTcbMonitorOptions {
  config: GatewayConfig;
  /** The standard verification in force (its Intel trust anchors are the early verifier's). */
  verification: () => Verification;
  audit: AuditLog;
  log: GatewayLog;
  clock: () => number;
  /** Stands in for the early PCCS source (a cluster worker asks its primary's). */
  source?: CollateralSource;
}

/**
 * The quote an accepted result was appraised from: the certificate's evidence with that SHA-256.
 * @example const quote = quoteOf(der, decision.result)
 */
export function quoteOf(der: Uint8Array, r: DcapResult): Uint8Array | undefined {
  let all: ReturnType<typeof extractEvidence>;
  try {
    all = extractEvidence(der);
  } catch {
    return undefined;
  }
  for (const e of all) {
    if (e.tee !== r.tee) continue;
    if (createHash('sha256').update(e.evidence).digest('hex') === r.evidenceSha256) return e.evidence;
  }
  return undefined;
}

/**
 * Resolves true once `pending` (which its promises leave when they settle) is empty, or false
 * after `timeoutMs`.
 * @example await settled(pending, 5_000)
 */
export async function settled(pending: ReadonlySet<Promise<unknown>>, timeoutMs?: number): Promise<boolean> {
  const drained = (async () => {
    while (pending.size > 0) await Promise.allSettled([...pending]);
    return true;
  })();
  if (timeoutMs === undefined) return drained;
  let t: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => {
    t = setTimeout(() => r(false), timeoutMs);
  });
  try {
    return await Promise.race([drained, late]);
  } finally {
    clearTimeout(t);
  }
}

/**
 * The early monitor for a gateway whose config says `earlyTcb: true`, else undefined.
 * @example const early = earlyTcbMonitor({ config, verification: () => state.verification, audit, log, clock: Date.now })
 */
export function earlyTcbMonitor(o: EarlyTcbMonitorOptions): EarlyTcbMonitor | undefined {
  const c = o.config.trust.collateral;
  if (!o.config.earlyTcb || c.kind !== 'pccs') return undefined;
  const source =
    o.source ??
    new PccsCollateralSource(c.url, {
      update: 'early',
      ...(c.cacheDir ? { cacheDir: c.cacheDir } : {}),
      ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
      clock: o.clock,
    });
  // One early quote verifier per verification path: a reload that changes the Intel anchors
  // changes the early verifier's too, and keeps its caches otherwise.
  let built: { for: Verification; verifier: QuoteVerifier } | undefined;
  const current = (): QuoteVerifier => {
    const v = o.verification();
    if (built?.for !== v) {
      const anchors = v.kind === 'real' ? v.trust.intel : undefined;
      built = { for: v, verifier: createQuoteVerifier({ collateralSource: source, trustAnchors: anchors }) };
    }
    return built.verifier;
  };
  /** What the warning needs beyond the assessment, per identity and peer while its appraisal runs. */
  const meta = new Map<string, { listener: string; tee: 'sgx' | 'tdx'; tcbEvaluationDataNumber?: number }>();
  const warn = (a: EarlyAssessment) => {
    const m = meta.get(`${a.identity}\u0000${a.peer}`);
    if (!m) return;
    const { listener, tee, tcbEvaluationDataNumber } = m;
    o.audit.write(
      buildEarlyTcbWarningEvent(
        {
          identity: a.identity,
          tee,
          quoteSha256: a.peer,
          standardStatus: a.standardStatus,
          ...(a.earlyStatus ? { earlyStatus: a.earlyStatus } : {}),
          addedAdvisoryIds: a.addedAdvisoryIds,
          ...(a.earlyError ? { earlyError: a.earlyError } : {}),
          ...(tcbEvaluationDataNumber !== undefined ? { tcbEvaluationDataNumber } : {}),
          listener,
        },
        () => new Date(o.clock()),
      ),
    );
  };
  const verifier: QuoteVerifier = {
    verify: (q, x) => current().verify(q, x),
    stats: () => current().stats(),
    clear: () => current().clear(),
  };
  // The watch calls onAtRisk once per identity and peer, concurrent connections included.
  const watch = new EarlyTcbWatch({ verifier, onAtRisk: warn });
  const pending = new Set<Promise<unknown>>();
  const observeQuote = ({ identity, quote, standard: r, listener }: EarlyTcbQuote): Promise<boolean> => {
    if (r.tee !== 'sgx' && r.tee !== 'tdx') return Promise.resolve(false);
    const key = `${identity}\u0000${r.evidenceSha256}`;
    if (!meta.has(key)) {
      meta.set(key, {
        listener,
        tee: r.tee,
        ...(r.tcbEvaluationDataNumber !== undefined ? { tcbEvaluationDataNumber: r.tcbEvaluationDataNumber } : {}),
      });
    }
    const p: Promise<boolean> = watch
      .observe({ identity, quote, standard: r, at: new Date(o.clock()) })
      .then(
        // The watch remembers every outcome but an unavailable early set (EarlyTcbWatch#remember).
        (a) =>
          !(a.earlyError !== undefined && isErrorCode(a.earlyError) && ERROR_CODES[a.earlyError].step === 'collateral'),
        (e: unknown) => {
          o.log('warn', 'early TCB appraisal failed', { error: String(e) });
          return false;
        },
      )
      .finally(() => {
        meta.delete(key);
        pending.delete(p);
      });
    pending.add(p);
    return p;
  };
  return {
    observe(der, d, listener) {
      const r = d.result;
      const identity = d.decision?.accept ? d.decision.identity : undefined;
      if (!d.accept || !r || (r.tee !== 'sgx' && r.tee !== 'tdx') || identity === undefined) return;
      const quote = quoteOf(der, r);
      if (!quote) return;
      void observeQuote({ identity, quote, standard: r, listener });
    },
    observeQuote,
    identities() {
      return Object.entries(watch.identities())
        .map(([identity, s]) => ({ identity, ...s }))
        .sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
    },
    atRiskCounts: () => watch.atRiskCounts(),
    whenIdle: (timeoutMs?: number) => settled(pending, timeoutMs),
  };
}
