/**
 * The gateway's one audit writer (the single process, or a cluster's primary) with what reads its
 * stream, the incident console and the alerter, and the state-backed metrics; shared by gateway.ts
 * and cluster.ts so both process models wire them the same way.
 */
import type { AuditLog } from '@ratls/verifier';
import { Alerter, DEFAULT_ALERTS } from '../console/alerts.js';
import { ConsoleHub, tapAudit } from '../console/hub.js';
import { waiverRows } from '../console/waivers.js';
import { RATLS_VERSION } from '../version.js';
import { collateralCacheEvents, collateralNextUpdates, gatewayWarnings } from './admin.js';
import type { GatewayConfig } from './config/config.js';
import type { GatewayLog } from './log.js';
import { createGatewayMetrics, type GatewayMetrics, setPolicyHashes } from './metrics.js';
import { type GatewayState, policyHashes } from './state.js';

export interface AuditWriter {
  /** Write here: the raw log, tapped by the console and the alerter when configured. */
  audit: AuditLog;
  /** The incident console fed by this writer (admin configured only). */
  consoleHub: ConsoleHub | undefined;
  /** Ends the console's streams and sends the alerts still queued; then close `audit`. */
  closeReaders(): Promise<void>;
}

/**
 * Wraps the writer's audit log with the console and the alerter. A worker passes `readers: false`:
 * its events reach the primary's writer, which feeds them. `state` gives the console the waivers in force.
 * @example const { audit, consoleHub } = auditWriter(createAuditLog({ sink: 'stdout' }), config, log, true, () => state)
 */
export function auditWriter(
  raw: AuditLog,
  config: GatewayConfig,
  log: GatewayLog,
  readers: boolean,
  state?: () => GatewayState,
): AuditWriter {
  const consoleHub =
    config.admin && readers
      ? new ConsoleHub(state ? { waivers: (now) => waiverRows(state().policies, now) } : {})
      : undefined;
  const alerter = config.alerts && readers ? new Alerter({ ...DEFAULT_ALERTS, ...config.alerts }, log) : undefined;
  const audit =
    consoleHub || alerter
      ? tapAudit(raw, (ev) => {
          consoleHub?.ingest(ev);
          alerter?.offer(ev);
        })
      : raw;
  return {
    audit,
    consoleHub,
    async closeReaders() {
      consoleHub?.close();
      await alerter?.close();
    },
  };
}

/**
 * The gateway's metrics, with the collectors that read the state in force.
 * @example const metrics = stateMetrics(() => state, Date.now)
 */
export function stateMetrics(
  state: () => GatewayState,
  clock: () => number,
  early?: () => Array<{ identity: string; status: string; peers: number }>,
): GatewayMetrics {
  const metrics = createGatewayMetrics(
    RATLS_VERSION,
    () => collateralNextUpdates(state()),
    () => gatewayWarnings(state(), clock()),
    () => collateralCacheEvents(state()),
    early,
  );
  setPolicyHashes(metrics, policyHashes(state()));
  return metrics;
}
