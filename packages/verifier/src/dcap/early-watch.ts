/**
 * Early warning for TCB recoveries. Intel publishes each TCB recovery first in its `update=early`
 * TCB evaluation data, weeks before it reaches `standard` (PCS API v4, `update` parameter). A
 * verifier that decides with `standard` can appraise every accepted peer a second time against
 * `early` and learn which identities the recovery will demote: the operators' "7 of 22 nodes went
 * OutOfDate, unnoticed" case, seen in advance. The watch never decides anything: the standard
 * appraisal and the policy do; it records, per identity, what the early set would make of the
 * peer, and reports each peer at risk once (for one audit warning per peer).
 */
import { ERROR_CODES, isErrorCode, type RatlsError, TCB_STATUSES, type TcbStatus } from '@ratls/evidence';
import type { DcapResult } from '../result.js';
import type { QuoteVerifier } from './quote-verifier.js';

/** What the early set made of one accepted peer. */
export interface EarlyAssessment {
  identity: string;
  /** Stable peer key (the evidence SHA-256, hex). */
  peer: string;
  standardStatus: TcbStatus;
  /** Status under the early set; absent when the early appraisal refused or could not run. */
  earlyStatus?: TcbStatus;
  /** Advisories the early set adds to the peer. */
  addedAdvisoryIds: string[];
  /** The early appraisal's error code (a refusal, or `ERR_COLLATERAL_*` when early collateral was unavailable). */
  earlyError?: string;
  /** The early set demotes the peer (default) or the relying party's `accepts` says it would refuse it. */
  atRisk: boolean;
}

export interface EarlyIdentityStatus {
  peers: number;
  atRisk: number;
  /** Worst early status seen among this identity's peers (Intel's order, TCB_STATUSES). */
  worstEarlyStatus?: TcbStatus;
  /** Worst standard status among the same peers: what the identity is accepted with today. */
  worstStandardStatus?: TcbStatus;
}

/** Peers at risk for one identity and one early outcome (an early status, or `refused`). */
export interface EarlyRiskCount {
  identity: string;
  /** The early status, or `refused` when the early appraisal refused the peer. */
  status: TcbStatus | 'refused';
  peers: number;
}

export interface EarlyTcbWatchOptions {
  /** A verifier whose collateral source fetches `update=early` (PccsCollateralSource `{ update: 'early' }`). */
  verifier: QuoteVerifier;
  /**
   * Whether the relying party would still accept the early result (run the policy on it). Default:
   * the early status is no worse than the standard one.
   */
  accepts?: (early: DcapResult, standard: DcapResult) => boolean;
  /** Called once per peer found at risk (audit warning). */
  onAtRisk?: (a: EarlyAssessment) => void;
  /** Peers remembered per identity (oldest forgotten first). Default 4096. */
  maxPeersPerIdentity?: number;
  /** Identities tracked. Default 1024 (identity names come from the policy, so this is a guard). */
  maxIdentities?: number;
}

const rank = (s: TcbStatus): number => TCB_STATUSES.indexOf(s);
/** Codes of the collateral step: the early set was unavailable, which says nothing about the peer. */
const unavailable = (code: string): boolean => isErrorCode(code) && ERROR_CODES[code].step === 'collateral';

/**
 * @example
 * const watch = new EarlyTcbWatch({
 *   verifier: createQuoteVerifier({ collateralSource: new PccsCollateralSource(url, { update: 'early' }) }),
 *   onAtRisk: (a) => audit.warn('early-tcb', a),
 * });
 * await watch.observe({ identity: 'payments', quote, standard: result, at: new Date() });
 * watch.identities().payments // { peers: 1, atRisk: 1, worstEarlyStatus: 'OutOfDate' }
 */
export class EarlyTcbWatch {
  readonly #verifier: QuoteVerifier;
  readonly #accepts: (early: DcapResult, standard: DcapResult) => boolean;
  readonly #onAtRisk: ((a: EarlyAssessment) => void) | undefined;
  readonly #maxPeers: number;
  readonly #maxIdentities: number;
  readonly #byIdentity = new Map<string, Map<string, EarlyAssessment>>();
  /** Appraisals in flight by identity and peer: concurrent connections from one enclave share one (one warning). */
  readonly #inflight = new Map<string, Promise<EarlyAssessment>>();

  constructor(o: EarlyTcbWatchOptions) {
    this.#verifier = o.verifier;
    this.#accepts = o.accepts ?? ((early, standard) => rank(early.tcbStatus) <= rank(standard.tcbStatus));
    this.#onAtRisk = o.onAtRisk;
    this.#maxPeers = Math.max(1, o.maxPeersPerIdentity ?? 4096);
    this.#maxIdentities = Math.max(1, o.maxIdentities ?? 1024);
  }

  /**
   * Appraises an accepted peer's quote against the early set and records the outcome. Never
   * throws: a failed early appraisal is recorded, never turned into a refusal.
   */
  async observe(o: {
    identity: string;
    quote: Uint8Array;
    standard: DcapResult;
    at: Date | number;
  }): Promise<EarlyAssessment> {
    const peer = o.standard.evidenceSha256;
    const known = this.#byIdentity.get(o.identity)?.get(peer);
    if (known) return known;
    const key = `${o.identity}\u0000${peer}`;
    const running = this.#inflight.get(key);
    if (running) return running;
    const p = this.#assess(o, peer).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, p);
    return p;
  }

  async #assess(
    o: { identity: string; quote: Uint8Array; standard: DcapResult; at: Date | number },
    peer: string,
  ): Promise<EarlyAssessment> {
    let a: EarlyAssessment;
    try {
      const early = await this.#verifier.verify(o.quote, { at: o.at });
      const had = new Set(o.standard.advisoryIds);
      a = {
        identity: o.identity,
        peer,
        standardStatus: o.standard.tcbStatus,
        earlyStatus: early.tcbStatus,
        addedAdvisoryIds: early.advisoryIds.filter((id) => !had.has(id)),
        atRisk: !this.#accepts(early, o.standard),
      };
    } catch (e) {
      const code = (e as RatlsError).code ?? 'ERR_INTERNAL';
      // Early collateral we could not get says nothing about the peer; an appraisal refusal
      // (Revoked, no matching level) says the recovery would refuse it.
      a = {
        identity: o.identity,
        peer,
        standardStatus: o.standard.tcbStatus,
        addedAdvisoryIds: [],
        earlyError: String(code),
        atRisk: !unavailable(String(code)),
      };
    }
    this.#remember(a);
    if (a.atRisk) this.#onAtRisk?.(a);
    return a;
  }

  /** Per identity: peers seen, peers at risk, worst early status (for metrics and /healthz). */
  identities(): Record<string, EarlyIdentityStatus> {
    const out: Record<string, EarlyIdentityStatus> = {};
    for (const [identity, peers] of this.#byIdentity) {
      const s: EarlyIdentityStatus = { peers: peers.size, atRisk: 0 };
      for (const a of peers.values()) {
        if (a.atRisk) s.atRisk++;
        if (a.earlyStatus && (s.worstEarlyStatus === undefined || rank(a.earlyStatus) > rank(s.worstEarlyStatus)))
          s.worstEarlyStatus = a.earlyStatus;
        if (s.worstStandardStatus === undefined || rank(a.standardStatus) > rank(s.worstStandardStatus))
          s.worstStandardStatus = a.standardStatus;
      }
      out[identity] = s;
    }
    return out;
  }

  /**
   * Peers at risk per identity and early outcome (for `ratls_early_tcb_at_risk{identity,status}`).
   * @example watch.atRiskCounts() // [{ identity: 'payments', status: 'OutOfDate', peers: 1 }]
   */
  atRiskCounts(): EarlyRiskCount[] {
    const out: EarlyRiskCount[] = [];
    for (const [identity, peers] of this.#byIdentity) {
      const by = new Map<TcbStatus | 'refused', number>();
      for (const a of peers.values()) {
        if (!a.atRisk) continue;
        const status = a.earlyStatus ?? 'refused';
        by.set(status, (by.get(status) ?? 0) + 1);
      }
      for (const [status, n] of by) out.push({ identity, status, peers: n });
    }
    return out;
  }

  #remember(a: EarlyAssessment): void {
    let peers = this.#byIdentity.get(a.identity);
    if (!peers) {
      if (this.#byIdentity.size >= this.#maxIdentities) return;
      peers = new Map();
      this.#byIdentity.set(a.identity, peers);
    }
    // Only definite outcomes are remembered: an unavailable early set is retried next time.
    if (a.earlyError !== undefined && unavailable(a.earlyError)) return;
    if (peers.size >= this.#maxPeers) {
      const oldest = peers.keys().next().value;
      if (oldest !== undefined) peers.delete(oldest);
    }
    peers.set(a.peer, a);
  }
}
