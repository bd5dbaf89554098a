/**
 * The gateway's admin side: the /healthz answer (listeners bound, collateral not past its
 * nextUpdate), the collateral facts behind the `ratls_collateral_next_update_timestamp_seconds`
 * gauge, and the admin HTTP server that serves /healthz and /metrics. It sees listeners only as
 * `{ name, listening }` and the state only to read it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename } from 'node:path';
import { ConfigError } from '@ratls/evidence';
import { PccsCollateralSource } from '@ratls/verifier';
import type { HostPort } from './config/config.js';
import type { GatewayMetrics } from './metrics.js';
import type { GatewayState } from './state.js';

/** The /healthz answer: 200 with `ok`, 503 with the reasons. */
export interface Health {
  ok: boolean;
  body: Record<string, unknown>;
}

export interface HealthInputs {
  state: GatewayState;
  listeners: Array<{ name: string; listening: boolean }>;
  /** Unix milliseconds. */
  now: number;
  version: string;
}

/**
 * Health of one gateway at `now`.
 * @example gatewayHealth({ state, listeners: [{ name: 'api', listening: true }], now: Date.now(), version: RATLS_VERSION }).ok
 */
export function gatewayHealth({ state: s, listeners, now, version }: HealthInputs): Health {
  const problems: string[] = [];
  const ls: Record<string, string> = {};
  for (const l of listeners) {
    ls[l.name] = l.listening ? 'listening' : 'down';
    if (!l.listening) problems.push(`listener ${l.name} is not listening`);
  }
  let collateral: Record<string, unknown>;
  if (s.collateral instanceof PccsCollateralSource) {
    const st = s.collateral.status();
    for (const e of st.entries) {
      if (e.nextUpdate <= now) problems.push(`collateral ${e.tee}/${e.fmspc} is past its nextUpdate`);
    }
    // A failed fetch alone is a warning: cached collateral keeps serving until its nextUpdate, and
    // a PCCS blip must not pull every gateway of a fleet out of its balancer at once.
    collateral = {
      source: 'pccs',
      healthy: st.healthy,
      ...(st.lastError ? { lastError: { code: st.lastError.code, at: new Date(st.lastError.at).toISOString() } } : {}),
      entries: st.entries.map((e) => ({
        tee: e.tee,
        fmspc: e.fmspc,
        nextUpdate: new Date(e.nextUpdate).toISOString(),
      })),
      cache: collateralCacheEvents(s),
      tcbEvaluationDataNumbers: st.rollback.seen,
    };
  } else {
    for (const f of s.fileCollateral) {
      if (f.nextUpdateMs <= now) problems.push(`collateral ${f.fmspc} (${basename(f.path)}) is past its nextUpdate`);
    }
    collateral = {
      source: 'files',
      entries: s.fileCollateral.map((f) => ({ fmspc: f.fmspc, nextUpdate: new Date(f.nextUpdateMs).toISOString() })),
    };
  }
  const body: Record<string, unknown> = {
    status: problems.length === 0 ? 'ok' : 'unhealthy',
    ...(problems.length ? { reasons: problems } : {}),
    version,
    listeners: ls,
    policies: [...s.policies.values()].map((p) => ({ source: basename(p.source), hash: p.hash })),
    collateral,
  };
  return { ok: problems.length === 0, body };
}

/**
 * The PCCS cache's counters for `ratls_collateral_cache_events` (undefined for file collateral).
 * @example createGatewayMetrics(RATLS_VERSION, () => collateralNextUpdates(state), () => collateralCacheEvents(state))
 */
export function collateralCacheEvents(s: GatewayState): Record<string, number> | undefined {
  if (!(s.collateral instanceof PccsCollateralSource)) return undefined;
  const st = s.collateral.status();
  const c = st.counters;
  return {
    hit: c.hits,
    miss: c.misses,
    fetch: c.fetches,
    coalesced: c.coalesced,
    refresh: c.refreshes,
    failure: c.failures,
    rate_limited: st.throttle.rateLimited + st.throttle.refused,
    rollback_refused: st.rollback.refused,
  };
}

/**
 * The collateral held, per FMSPC, for the nextUpdate gauge.
 * @example createGatewayMetrics(RATLS_VERSION, () => collateralNextUpdates(state))
 */
export function collateralNextUpdates(s: GatewayState): Array<{ fmspc: string; nextUpdateMs: number }> {
  if (s.collateral instanceof PccsCollateralSource) {
    return s.collateral.status().entries.map((e) => ({ fmspc: e.fmspc, nextUpdateMs: e.nextUpdate }));
  }
  return s.fileCollateral.map((f) => ({ fmspc: f.fmspc, nextUpdateMs: f.nextUpdateMs }));
}

export interface AdminServer {
  address(): HostPort | undefined;
  close(): Promise<void>;
}

/**
 * Serves GET/HEAD /healthz and /metrics on `addr`; anything else is 404 (405 for other methods).
 * @example const admin = await startAdmin({ host: '127.0.0.1', port: 9090 }, { health: () => gw.health(), metrics });
 */
export async function startAdmin(
  addr: HostPort,
  deps: {
    health: () => Health;
    metrics: Pick<GatewayMetrics, 'registry'>;
    /** The exposition text (a cluster primary: aggregated over its workers); default the registry's. */
    metricsText?: () => Promise<string>;
  },
): Promise<AdminServer> {
  const { registry } = deps.metrics;
  const text = deps.metricsText ?? (() => registry.metrics());
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      const h = deps.health();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify(h.body));
      return;
    }
    if (path === '/metrics') {
      text().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(addr.port, addr.host, () => resolve());
    });
  } catch (e) {
    throw new ConfigError('ERR_GATEWAY_LISTEN', 'config', `admin: cannot listen: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return {
    address() {
      const a = server.address() as AddressInfo | null;
      return a ? { host: a.address, port: a.port } : undefined;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
