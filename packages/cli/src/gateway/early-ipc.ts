/**
 * The early TCB warning with `workers > 1` (issue 17; docs/gateway.md, "Process model"). The
 * early appraisal, its once-per-peer dedupe, the audit warning, the metric and the /healthz
 * detail live in one place, the cluster primary, which owns PCCS, the audit writer and the admin
 * server. A worker forwards each certificate-mode accept as one bounded message (`EarlyAsk`: the
 * accepted quote, not a result); the primary checks its shape, re-appraises the quote against its
 * own standard collateral, and only then hands the branded result to the early monitor.
 *
 * Why re-appraise: verified results cross a process boundary only through the appraisers' own
 * channel (ARCHITECTURE, "Security invariants"; issue 12), and a structured clone of a worker's
 * result is plain data anyone on the channel could have written. The early watch needs a
 * `DcapResult` (its standard status, advisories and evidence hash), so the primary makes its own;
 * the quote verifier's result cache makes a repeat of one quote cheap. The worker's
 * `standardStatus` and `tcbEvaluationDataNumber` travel as unverified display values: a
 * disagreement with the primary's appraisal is logged, and the primary's values are used.
 */
import { Buffer } from 'node:buffer';
import { MAX_EVIDENCE_EXTENSION_BYTES, TCB_STATUSES, type TcbStatus } from '@ratls/evidence';
import type { PeerDecision } from '@ratls/verifier';
import { z } from 'zod';
import type { EarlyTcbMonitor, EarlyTcbObserver } from './early-tcb.js';
import { quoteOf, settled } from './early-tcb.js';
import type { GatewayLog } from './log.js';
import type { GatewayState } from './state.js';

/** Worker → primary: one certificate-mode accept of an SGX/TDX peer. */
export interface EarlyAsk {
  t: 'early';
  id: number;
  listener: string;
  /** The policy identity the worker's decision named (checked against the listener's policy). */
  identity: string;
  tee: 'sgx' | 'tdx';
  /** The accepted quote, base64: the primary appraises it itself. */
  quote: string;
  /** The worker's standard status: an unverified display value, compared, never trusted. */
  unverifiedStandardStatus: TcbStatus;
  unverifiedTcbEvaluationDataNumber?: number;
}
/** Primary → worker: the ask is handled (appraised, already known, or dropped); its slot is free. */
export interface EarlyDone {
  t: 'early-done';
  id: number;
  /**
   * The primary's watch remembers this identity and quote: the worker need not forward them
   * again (a memo of the primary's answer, not a second dedupe: the primary's watch decides).
   */
  assessed?: true;
}

/** The largest quote forwarded: the largest evidence extension a certificate may carry. */
export const MAX_EARLY_QUOTE_BYTES = MAX_EVIDENCE_EXTENSION_BYTES;
/** Asks a worker has outstanding (and the primary handles per worker) before it drops more. */
export const MAX_EARLY_IN_FLIGHT = 64;
/** Identity+quote keys a worker remembers as assessed by the primary (oldest forgotten first). */
const MAX_ASSESSED_MEMO = 4096;
/** A slot whose `early-done` never comes (the primary restarted its handler) is freed after this. */
const ACK_TIMEOUT_MS = 30_000;
/** Drop lines per reason: the first at once, then at most one per this interval, with the count. */
const DROP_LOG_INTERVAL_MS = 10_000;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_QUOTE_CHARS = 4 * Math.ceil(MAX_EARLY_QUOTE_BYTES / 3);

/** Why an early ask was not appraised (the `reason` of the drop log lines and counts). */
export type EarlyDropReason =
  | 'malformed'
  | 'oversized'
  | 'in_flight'
  | 'send_failed'
  | 'unknown_listener'
  | 'unknown_identity'
  | 'no_verification'
  | 'standard_refused'
  | 'tee_mismatch';

/** Counts drops per reason and logs them without flooding the operational log. */
class DropLog {
  readonly counts = new Map<EarlyDropReason, number>();
  readonly #lastLogged = new Map<EarlyDropReason, number>();

  constructor(
    readonly log: GatewayLog,
    readonly who: string,
  ) {}

  drop(reason: EarlyDropReason, fields: Record<string, unknown> = {}): void {
    const n = (this.counts.get(reason) ?? 0) + 1;
    this.counts.set(reason, n);
    const now = Date.now();
    const last = this.#lastLogged.get(reason);
    if (last !== undefined && now - last < DROP_LOG_INTERVAL_MS) return;
    this.#lastLogged.set(reason, now);
    this.log('warn', `early TCB ask dropped by the ${this.who}: ${reason}`, { reason, dropped: n, ...fields });
  }

  total(): number {
    let n = 0;
    for (const v of this.counts.values()) n += v;
    return n;
  }
}

export interface EarlyTcbForwarderOptions {
  /** Sends one message to the primary; `done` runs once it is written (or failed). */
  send: (m: EarlyAsk, done: (error: Error | null) => void) => void;
  log: GatewayLog;
  /** Outstanding asks before more are dropped (default MAX_EARLY_IN_FLIGHT). */
  maxInFlight?: number;
}

/**
 * A cluster worker's early observer: forwards each certificate-mode accept of an SGX/TDX peer to
 * the primary, bounded in quote size and outstanding asks (beyond them it drops, counts and logs
 * rather than queue). Feed every message from the primary to `receive`.
 * @example
 * const fwd = new EarlyTcbForwarder({ send: (m, done) => process.send?.(m, undefined, {}, done), log });
 * process.on('message', (m) => fwd.receive(m));
 * startListener(lc, { ...deps, early: fwd });
 */
export class EarlyTcbForwarder implements EarlyTcbObserver {
  readonly #send: EarlyTcbForwarderOptions['send'];
  readonly #max: number;
  readonly #drops: DropLog;
  readonly #inFlight = new Map<number, { timer: NodeJS.Timeout; key: string }>();
  /** Keys the primary answered `assessed` for: forwarding them again would change nothing. */
  readonly #assessed = new Set<string>();
  #nextId = 1;

  constructor(o: EarlyTcbForwarderOptions) {
    this.#send = o.send;
    this.#max = Math.max(1, o.maxInFlight ?? MAX_EARLY_IN_FLIGHT);
    this.#drops = new DropLog(o.log, 'worker');
  }

  observe(der: Uint8Array, d: PeerDecision, listener: string): void {
    const r = d.result;
    const identity = d.decision?.accept ? d.decision.identity : undefined;
    if (!d.accept || !r || (r.tee !== 'sgx' && r.tee !== 'tdx') || identity === undefined) return;
    // Checked before the certificate is read again: the steady state of a known enclave costs a lookup.
    const key = `${identity}\u0000${r.evidenceSha256}`;
    if (this.#assessed.has(key)) return;
    const quote = quoteOf(der, r);
    if (!quote) return;
    if (quote.length > MAX_EARLY_QUOTE_BYTES) {
      this.#drops.drop('oversized', { bytes: quote.length });
      return;
    }
    if (this.#inFlight.size >= this.#max) {
      this.#drops.drop('in_flight', { max: this.#max });
      return;
    }
    const id = this.#nextId++;
    this.#inFlight.set(id, { timer: setTimeout(() => this.#inFlight.delete(id), ACK_TIMEOUT_MS).unref(), key });
    const m: EarlyAsk = {
      t: 'early',
      id,
      listener,
      identity,
      tee: r.tee,
      quote: Buffer.from(quote).toString('base64'),
      unverifiedStandardStatus: r.tcbStatus,
      ...(r.tcbEvaluationDataNumber !== undefined
        ? { unverifiedTcbEvaluationDataNumber: r.tcbEvaluationDataNumber }
        : {}),
    };
    const failed = (e: unknown) => {
      this.#free(id);
      this.#drops.drop('send_failed', { error: String(e) });
    };
    try {
      this.#send(m, (e) => {
        if (e) failed(e);
      });
    } catch (e) {
      failed(e);
    }
  }

  /**
   * Takes one message from the primary; returns whether it was an `early-done`.
   * @example process.on('message', (m) => { if (!fwd.receive(m)) other(m) })
   */
  receive(m: unknown): boolean {
    if (typeof m !== 'object' || m === null || (m as { t?: unknown }).t !== 'early-done') return false;
    const { id, assessed } = m as { id?: unknown; assessed?: unknown };
    if (typeof id !== 'number') return true;
    const key = this.#inFlight.get(id)?.key;
    this.#free(id);
    if (assessed === true && key !== undefined && !this.#assessed.has(key)) {
      if (this.#assessed.size >= MAX_ASSESSED_MEMO) {
        const oldest = this.#assessed.values().next().value;
        if (oldest !== undefined) this.#assessed.delete(oldest);
      }
      this.#assessed.add(key);
    }
    return true;
  }

  /** Asks outstanding and drops so far (tests, logs). */
  stats(): { inFlight: number; dropped: number } {
    return { inFlight: this.#inFlight.size, dropped: this.#drops.total() };
  }

  #free(id: number): void {
    const e = this.#inFlight.get(id);
    if (e === undefined) return;
    clearTimeout(e.timer);
    this.#inFlight.delete(id);
  }
}

/**
 * The worker's forwarder wired to its IPC channel to the primary.
 * @example const early = config.earlyTcb ? earlyViaPrimary(log) : undefined
 */
export function earlyViaPrimary(log: GatewayLog): EarlyTcbForwarder {
  const fwd = new EarlyTcbForwarder({
    send: (m, done) => {
      // Without a callback, a send on a closed channel is an 'error' event that would end the process.
      if (!process.connected || !process.send) throw new Error('the IPC channel to the primary is closed');
      process.send(m, undefined, {}, (e) => done(e ?? null));
    },
    log,
  });
  process.on('message', (m: unknown) => void fwd.receive(m));
  return fwd;
}

/** The shape the primary accepts from a worker: exact keys, bounded strings, known vocabularies. */
const earlyAskSchema = z.strictObject({
  t: z.literal('early'),
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  listener: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
  identity: z.string().min(1).max(128),
  tee: z.enum(['sgx', 'tdx']),
  quote: z.string().min(4).max(MAX_QUOTE_CHARS),
  unverifiedStandardStatus: z.enum(TCB_STATUSES),
  unverifiedTcbEvaluationDataNumber: z.number().int().nonnegative().max(0xffffffff).optional(),
});

export interface EarlyAskHandlerOptions {
  /** The primary's one early monitor. */
  monitor: EarlyTcbMonitor;
  /** The state in force: listeners, their policies, and the standard verification path. */
  state: () => GatewayState;
  log: GatewayLog;
  clock: () => number;
  /** Asks handled at once per worker before more are dropped (default MAX_EARLY_IN_FLIGHT). */
  maxInFlightPerWorker?: number;
}

/**
 * The primary's side: validates a worker's `EarlyAsk` (a trust boundary even between our own
 * processes), re-appraises its quote against the standard collateral, and hands the verified
 * result to the early monitor. A malformed, oversized or excess ask is dropped with a log line;
 * `reply` frees the worker's slot whenever the ask carried a usable id. Never throws.
 * @example
 * const asks = new EarlyAskHandler({ monitor: early, state: () => state, log, clock: Date.now });
 * worker.on('message', (m) => { if (m.t === 'early') asks.handle(m, worker.process.pid, (a) => worker.send(a)) });
 */
export class EarlyAskHandler {
  readonly #o: EarlyAskHandlerOptions;
  readonly #max: number;
  readonly #drops: DropLog;
  readonly #perWorker = new Map<number, number>();
  readonly #pending = new Set<Promise<unknown>>();

  constructor(o: EarlyAskHandlerOptions) {
    this.#o = o;
    this.#max = Math.max(1, o.maxInFlightPerWorker ?? MAX_EARLY_IN_FLIGHT);
    this.#drops = new DropLog(o.log, 'primary');
  }

  handle(m: unknown, worker: number, reply: (d: EarlyDone) => void): void {
    const raw = typeof m === 'object' && m !== null ? (m as Record<string, unknown>) : {};
    const id = raw.id;
    const done = (assessed = false) => {
      if (typeof id === 'number' && Number.isSafeInteger(id))
        reply({ t: 'early-done', id, ...(assessed ? { assessed: true as const } : {}) });
    };
    if (typeof raw.quote === 'string' && raw.quote.length > MAX_QUOTE_CHARS) {
      this.#drops.drop('oversized', { worker, chars: raw.quote.length });
      done();
      return;
    }
    const parsed = earlyAskSchema.safeParse(m);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      this.#drops.drop('malformed', { worker, at: issue?.path.join('.') ?? '', issue: issue?.message ?? '' });
      done();
      return;
    }
    const a = parsed.data;
    const quote = decodeQuote(a.quote);
    if (!quote) {
      this.#drops.drop('malformed', { worker, at: 'quote', issue: 'not canonical base64 of a bounded quote' });
      done();
      return;
    }
    const busy = this.#perWorker.get(worker) ?? 0;
    if (busy >= this.#max) {
      this.#drops.drop('in_flight', { worker, max: this.#max });
      done();
      return;
    }
    this.#perWorker.set(worker, busy + 1);
    const p: Promise<void> = this.#appraise(a, quote, worker).then((assessed) => {
      const n = (this.#perWorker.get(worker) ?? 1) - 1;
      if (n > 0) this.#perWorker.set(worker, n);
      else this.#perWorker.delete(worker);
      this.#pending.delete(p);
      done(assessed);
    });
    this.#pending.add(p);
  }

  /** Drops so far (the /healthz early detail). */
  dropped(): number {
    return this.#drops.total();
  }

  /**
   * Resolves true when no ask is being appraised, or false after `timeoutMs` (drain).
   * @example if (!(await asks.whenIdle(5_000))) log('warn', 'early TCB appraisals still running')
   */
  whenIdle(timeoutMs?: number): Promise<boolean> {
    return settled(this.#pending, timeoutMs);
  }

  /** True when the monitor now remembers this identity and quote; false when dropped or to be retried. */
  async #appraise(a: z.infer<typeof earlyAskSchema>, quote: Uint8Array, worker: number): Promise<boolean> {
    try {
      return await this.#appraiseOnce(a, quote, worker);
    } catch (e) {
      this.#o.log('warn', 'early TCB ask failed in the primary', { worker, error: String(e) });
      return false;
    }
  }

  async #appraiseOnce(a: z.infer<typeof earlyAskSchema>, quote: Uint8Array, worker: number): Promise<boolean> {
    const s = this.#o.state();
    const lc = s.config.listeners.find((l) => l.name === a.listener);
    if (!lc) {
      this.#drops.drop('unknown_listener', { worker, listener: a.listener });
      return false;
    }
    // The identity becomes a metric label and an audit field: only a name the listener's policy
    // defines is taken, so a confused or hostile worker cannot grow the label set.
    const policy = s.policies.get(lc.policy);
    if (!policy?.identities.some((i) => i.name === a.identity)) {
      this.#drops.drop('unknown_identity', { worker, listener: a.listener });
      return false;
    }
    const v = s.verification;
    if (v.kind !== 'real') {
      this.#drops.drop('no_verification', { worker });
      return false;
    }
    let standard: Awaited<ReturnType<typeof v.quoteVerifier.verify>>;
    try {
      standard = await v.quoteVerifier.verify(quote, { at: new Date(this.#o.clock()) });
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      this.#drops.drop('standard_refused', { worker, code: typeof code === 'string' ? code : String(e) });
      return false;
    }
    if (standard.tee !== a.tee) {
      this.#drops.drop('tee_mismatch', { worker, tee: a.tee });
      return false;
    }
    if (
      standard.tcbStatus !== a.unverifiedStandardStatus ||
      (a.unverifiedTcbEvaluationDataNumber !== undefined &&
        standard.tcbEvaluationDataNumber !== a.unverifiedTcbEvaluationDataNumber)
    ) {
      // Collateral refreshed between the two appraisals, or a confused worker: the primary's stands.
      this.#o.log('info', "early TCB: a worker's standard status differs from the primary's appraisal", {
        worker,
        worker_status: a.unverifiedStandardStatus,
        status: standard.tcbStatus,
      });
    }
    return this.#o.monitor.observeQuote({ identity: a.identity, quote, standard, listener: a.listener });
  }
}

/** Canonical base64 (padded, no whitespace) of at most MAX_EARLY_QUOTE_BYTES, or undefined. */
function decodeQuote(b64: string): Uint8Array | undefined {
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return undefined;
  const bytes = new Uint8Array(Buffer.from(b64, 'base64'));
  if (bytes.length === 0 || bytes.length > MAX_EARLY_QUOTE_BYTES) return undefined;
  // Non-canonical padding bits decode to the same bytes: re-encode to refuse them.
  return Buffer.from(bytes).toString('base64') === b64 ? bytes : undefined;
}
