/**
 * The gateway's Prometheus metrics, in their own Registry (never the global one, so a library
 * user embedding the gateway gets no surprise series). Labels are bounded: listener names from
 * the config, TEE kinds, stable error/reason codes; never a measurement, address or identity.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type LimitName =
  | 'handshake_timeout'
  | 'client_hello_timeout'
  | 'max_pending_per_source'
  | 'max_pre_tls_bytes'
  | 'max_connections'
  | 'max_certificate_bytes'
  | 'idle_timeout'
  | 'max_handshakes_per_second_per_source'
  | 'max_connection_age';

export interface GatewayMetrics {
  registry: Registry;
  handshakes: Counter<'listener' | 'result'>;
  rejections: Counter<'listener' | 'tee' | 'reason'>;
  verificationSeconds: Histogram<'listener'>;
  collateralNextUpdate: Gauge<'fmspc'>;
  collateralCache: Gauge<'event'>;
  activeConnections: Gauge<'listener'>;
  policyInfo: Gauge<'hash'>;
  buildInfo: Gauge<'version'>;
  limitHits: Counter<'listener' | 'limit'>;
  reloads: Counter<'result'>;
  /** Operator warnings in force by kind (simulated_anchor, collateral_near_expiry, collateral_expired). */
  warnings: Gauge<'kind'>;
  /** Accepts that only a waiver (or the OutOfDate grace window) allowed; label = waiver names. */
  waivedAccepts: Counter<'listener' | 'waiver'>;
  /** Accepted peers Intel's early TCB evaluation data would demote or refuse (`earlyTcb: true`). */
  earlyTcbAtRisk: Gauge<'identity' | 'status'>;
}

/**
 * @example const m = createGatewayMetrics(RATLS_VERSION); m.handshakes.inc({ listener: 'api', result: 'accept' })
 */
export function createGatewayMetrics(
  version: string,
  collectCollateral?: () => Array<{ fmspc: string; nextUpdateMs: number }>,
  collectWarnings?: () => Array<{ kind: string }>,
  collectCache?: () => Record<string, number> | undefined,
  collectEarly?: () => Array<{ identity: string; status: string; peers: number }>,
): GatewayMetrics {
  const registry = new Registry();
  // process_* and nodejs_* (RSS, heap, event-loop lag, fds): what an operator needs to tell a leak
  // from a busy gateway. Unlabelled, so bounded.
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const m: GatewayMetrics = {
    registry,
    handshakes: new Counter({
      name: 'ratls_handshakes_total',
      help: 'Attested TLS connection attempts by outcome (accept, reject).',
      labelNames: ['listener', 'result'],
      registers,
    }),
    rejections: new Counter({
      name: 'ratls_attestation_rejections_total',
      help: 'Rejected attempts by TEE (or none) and stable reason code.',
      labelNames: ['listener', 'tee', 'reason'],
      registers,
    }),
    waivedAccepts: new Counter({
      name: 'ratls_waived_accepts_total',
      help: 'Accepted attempts that a policy waiver or the OutOfDate grace window admitted, by waiver name.',
      labelNames: ['listener', 'waiver'],
      registers,
    }),
    verificationSeconds: new Histogram({
      name: 'ratls_verification_duration_seconds',
      help: 'Time to appraise one client certificate (evidence, collateral, policy).',
      labelNames: ['listener'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    collateralNextUpdate: new Gauge({
      name: 'ratls_collateral_next_update_timestamp_seconds',
      help: 'Earliest nextUpdate of the collateral held for each FMSPC (Unix seconds).',
      labelNames: ['fmspc'],
      registers,
      collect() {
        if (!collectCollateral) return;
        this.reset();
        for (const e of collectCollateral()) this.set({ fmspc: e.fmspc }, Math.floor(e.nextUpdateMs / 1000));
      },
    }),
    // Issue 17: the collateral cache's counters (hits, misses, upstream fetches, coalesced callers,
    // refreshes, failures, rate-limited, rollback-refused). Monotonic since start; a gauge because
    // the values are read from the source at scrape time. `event` is a fixed vocabulary.
    collateralCache: new Gauge({
      name: 'ratls_collateral_cache_events',
      help: 'Collateral cache events since start, by event (hit, miss, fetch, coalesced, refresh, failure, rate_limited, rollback_refused).',
      labelNames: ['event'],
      registers,
      collect() {
        const c = collectCache?.();
        if (!c) return;
        this.reset();
        for (const [event, v] of Object.entries(c)) this.set({ event }, v);
      },
    }),
    // Issue 17, early warning. `identity` is a policy identity name: the operator's vocabulary,
    // bounded by the policy (and the watch's identity cap), never a measurement or an address.
    earlyTcbAtRisk: new Gauge({
      name: 'ratls_early_tcb_at_risk',
      help: "Accepted peers that Intel's update=early TCB evaluation data would demote or refuse, by identity and early status (or refused).",
      labelNames: ['identity', 'status'],
      registers,
      collect() {
        if (!collectEarly) return;
        this.reset();
        for (const e of collectEarly()) this.set({ identity: e.identity, status: e.status }, e.peers);
      },
    }),
    activeConnections: new Gauge({
      name: 'ratls_active_connections',
      help: 'Accepted connections currently open.',
      labelNames: ['listener'],
      registers,
    }),
    policyInfo: new Gauge({
      name: 'ratls_policy_info',
      help: 'Content hash of each policy in force (value 1).',
      labelNames: ['hash'],
      registers,
    }),
    buildInfo: new Gauge({
      name: 'ratls_build_info',
      help: 'ratls version (value 1).',
      labelNames: ['version'],
      registers,
    }),
    limitHits: new Counter({
      name: 'ratls_limit_hits_total',
      help: 'Connections closed by a configured limit.',
      labelNames: ['listener', 'limit'],
      registers,
    }),
    reloads: new Counter({
      name: 'ratls_reloads_total',
      help: 'Configuration, policy and certificate reload attempts by result (ok, failed).',
      labelNames: ['result'],
      registers,
    }),
    warnings: new Gauge({
      name: 'ratls_warnings',
      help: 'Operator warnings in force, by kind (simulated_anchor, collateral_near_expiry, collateral_expired).',
      labelNames: ['kind'],
      registers,
      collect() {
        if (!collectWarnings) return;
        this.reset();
        // Every kind is exported, at 0 when absent, so an alert can say `> 0` without `absent()`.
        const counts: Record<string, number> = {
          simulated_anchor: 0,
          collateral_near_expiry: 0,
          collateral_expired: 0,
        };
        for (const w of collectWarnings()) counts[w.kind] = (counts[w.kind] ?? 0) + 1;
        for (const [kind, n] of Object.entries(counts)) this.set({ kind }, n);
      },
    }),
  };
  m.buildInfo.set({ version }, 1);
  return m;
}

/** Marks exactly these policy hashes as in force. */
export function setPolicyHashes(m: Pick<GatewayMetrics, 'policyInfo'>, hashes: Iterable<string>): void {
  m.policyInfo.reset();
  for (const h of new Set(hashes)) m.policyInfo.set({ hash: h }, 1);
}

/** The series a cluster worker writes and the primary sums over workers (the rest are the primary's). */
export const WORKER_METRICS: ReadonlySet<string> = new Set([
  'ratls_handshakes_total',
  'ratls_attestation_rejections_total',
  'ratls_verification_duration_seconds',
  'ratls_active_connections',
  'ratls_limit_hits_total',
]);
