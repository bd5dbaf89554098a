/**
 * The gateway's admin side: the /healthz answer (listeners bound, collateral not past its
 * nextUpdate), the collateral facts behind the `ratls_collateral_next_update_timestamp_seconds`
 * gauge, and the admin HTTP server that serves /healthz and /metrics. It sees listeners only as
 * `{ name, listening }` and the state only to read it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net, { type AddressInfo } from 'node:net';
import { basename } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { ConfigError } from '@ratls/evidence';
import { PccsCollateralSource } from '@ratls/verifier';
import type { ConsoleHub } from '../console/hub.js';
import { serveConsole } from '../console/routes.js';
import type { AdminAuthConfig, ForwardTarget, HostPort } from './config/config.js';
import type { EarlyTcbIdentity } from './early-tcb.js';
import type { GatewayMetrics } from './metrics.js';
import type { GatewayState } from './state.js';

/** The /healthz answer: 200 with `ok` (warnings, if any, under `warnings`), 503 with the reasons. */
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
  /** Early TCB warning per identity (`earlyTcb: true`). */
  early?: { identities(): EarlyTcbIdentity[]; dropped?(): number };
}

/**
 * How long before a collateral's nextUpdate the gateway starts to warn (a long weekend: PCCS or
 * the operator has time to refresh before every handshake needing it is refused).
 */
export const COLLATERAL_WARN_MS = 3 * 86_400_000;

/** One collateral entry the gateway holds, whatever its source. */
interface HeldCollateral {
  label: string;
  nextUpdateMs: number;
}

function heldCollateral(s: GatewayState): HeldCollateral[] {
  if (s.collateral instanceof PccsCollateralSource) {
    return s.collateral.status().entries.map((e) => ({ label: `${e.tee}/${e.fmspc}`, nextUpdateMs: e.nextUpdate }));
  }
  return s.fileCollateral.map((f) => ({ label: `${f.fmspc} (${basename(f.path)})`, nextUpdateMs: f.nextUpdateMs }));
}

/**
 * What an operator must hear at startup and on /healthz although the gateway serves: simulated
 * trust anchors (anyone holding the simulator's state folder can mint "attested" peers) and
 * collateral within COLLATERAL_WARN_MS of its nextUpdate or past it.
 * @example for (const w of gatewayWarnings(state, Date.now())) log('warn', w.message, w)
 */
export function gatewayWarnings(s: GatewayState, now: number): Array<{ kind: string; message: string }> {
  const out: Array<{ kind: string; message: string }> = [];
  for (const a of s.anchors) {
    if (a.simulated) {
      out.push({
        kind: 'simulated_anchor',
        message: `${a.vendor} trust anchor "${a.name}" is the ratls SIMULATOR's root: peers need no real TEE; never in production`,
      });
    }
  }
  for (const c of heldCollateral(s)) {
    if (c.nextUpdateMs <= now) {
      out.push({
        kind: 'collateral_expired',
        message: `collateral ${c.label} is past its nextUpdate (${new Date(c.nextUpdateMs).toISOString()}): peers needing it are refused`,
      });
    } else if (c.nextUpdateMs - now <= COLLATERAL_WARN_MS) {
      out.push({
        kind: 'collateral_near_expiry',
        message: `collateral ${c.label} reaches its nextUpdate at ${new Date(c.nextUpdateMs).toISOString()}: refresh it`,
      });
    }
  }
  return out;
}

/**
 * Health of one gateway at `now`. Warnings (simulated anchors, collateral near nextUpdate, a failed
 * PCCS fetch with the cache still valid) keep it `ok` with `degraded: true`, so a balancer does not
 * pull a fleet for a warning; a listener down or collateral past nextUpdate make it 503.
 * @example gatewayHealth({ state, listeners: [{ name: 'api', listening: true }], now: Date.now(), version: RATLS_VERSION }).ok
 */
export function gatewayHealth({ state: s, listeners, now, version, early }: HealthInputs): Health {
  const problems: string[] = [];
  const ls: Record<string, string> = {};
  for (const l of listeners) {
    ls[l.name] = l.listening ? 'listening' : 'down';
    if (!l.listening) problems.push(`listener ${l.name} is not listening`);
  }
  let collateral: Record<string, unknown>;
  const warnings = gatewayWarnings(s, now)
    .filter((w) => w.kind !== 'collateral_expired')
    .map((w) => w.message);
  if (s.collateral instanceof PccsCollateralSource) {
    const st = s.collateral.status();
    for (const e of st.entries) {
      if (e.nextUpdate <= now) problems.push(`collateral ${e.tee}/${e.fmspc} is past its nextUpdate`);
    }
    // A failed fetch alone is a warning: cached collateral keeps serving until its nextUpdate, and
    // a PCCS blip must not pull every gateway of a fleet out of its balancer at once.
    if (!st.healthy) warnings.push(`the last PCCS fetch failed (${st.lastError?.code ?? 'unknown'})`);
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
    ...(warnings.length ? { degraded: true, warnings } : {}),
    version,
    listeners: ls,
    policies: [...s.policies.values()].map((p) => ({ source: basename(p.source), hash: p.hash })),
    anchors: s.anchors.map((a) => ({ vendor: a.vendor, name: a.name, simulated: a.simulated })),
    collateral,
  };
  if (early) {
    // A warning, never a 503: the peers are accepted today; the early set says what is coming.
    const ids = early.identities();
    for (const i of ids) {
      if (i.atRisk > 0) {
        warnings.push(
          `early TCB: ${i.atRisk} of ${i.peers} accepted ${i.identity} peers would be ${i.worstEarlyStatus ?? 'refused'} under Intel's update=early TCB evaluation data (${i.worstStandardStatus ?? 'unknown'} today)`,
        );
      }
    }
    body.earlyTcb = {
      identities: ids.map((i) => ({
        identity: i.identity,
        peers: i.peers,
        atRisk: i.atRisk,
        ...(i.worstStandardStatus ? { status: i.worstStandardStatus } : {}),
        ...(i.worstEarlyStatus ? { earlyStatus: i.worstEarlyStatus } : {}),
      })),
    };
    // A cluster primary counts the workers' asks it could not appraise (bounds, malformed).
    const dropped = early.dropped?.() ?? 0;
    if (dropped > 0) {
      (body.earlyTcb as Record<string, unknown>).dropped = dropped;
      warnings.push(`early TCB: ${dropped} accepted peers were not assessed (see the operational log)`);
    }
    if (warnings.length) Object.assign(body, { degraded: true, warnings });
  }
  return { ok: problems.length === 0, body };
}

/** The /readyz answer: 200 when every listener asked about can decide, 503 with the reasons. */
export interface Readiness {
  ok: boolean;
  body: { status: 'ready' | 'not_ready'; listeners: Record<string, { ready: boolean; reasons?: string[] }> };
}

/** How long /readyz?backend=1 waits for a backend to accept a connection. */
export const BACKEND_PROBE_TIMEOUT_MS = 1_000;

/** True when a TCP (or UNIX socket) connection to the backend opens within the probe timeout. */
function probeBackend(target: ForwardTarget): Promise<boolean> {
  // An identity listener has no backend: the gateway itself answers (issue 15).
  if (target.kind === 'identity') return Promise.resolve(true);
  return new Promise((resolve) => {
    const sock =
      target.kind === 'unix'
        ? net.connect(target.path)
        : target.kind === 'tcp'
          ? net.connect(target.port, target.host)
          : target.kind === 'postgres'
            ? 'path' in target.backend
              ? net.connect(target.backend.path)
              : net.connect(target.backend.port, target.backend.host)
            : net.connect(
                Number(target.url.port || (target.url.protocol === 'https:' ? 443 : 80)),
                target.url.hostname.replace(/^\[|\]$/g, ''),
              );
    const done = (ok: boolean) => {
      clearTimeout(t);
      sock.destroy();
      resolve(ok);
    };
    const t = setTimeout(() => done(false), BACKEND_PROBE_TIMEOUT_MS);
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

/**
 * Readiness per listener: bound, collateral available for its trust (file collateral not all past
 * nextUpdate; PCCS with a valid cached entry, or no fetch failed yet), and with `backend` its
 * backend accepting a connection. One listener's trouble does not make the others unready.
 * @example const r = await gatewayReadiness({ state, listeners, now: Date.now(), version }, { listener: 'api', backend: true })
 */
export async function gatewayReadiness(
  { state: s, listeners, now }: HealthInputs,
  ask: { listener?: string; backend?: boolean } = {},
): Promise<Readiness> {
  const collateralReasons: string[] = [];
  const held = heldCollateral(s);
  const valid = held.some((c) => c.nextUpdateMs > now);
  if (s.collateral instanceof PccsCollateralSource) {
    const st = s.collateral.status();
    if (!valid && st.lastError) {
      collateralReasons.push(`no valid collateral cached and the PCCS fetch failed (${st.lastError.code})`);
    }
  } else if (!valid) {
    collateralReasons.push('every collateral file is past its nextUpdate');
  }
  const out: Readiness['body']['listeners'] = {};
  const chosen = listeners.filter((l) => ask.listener === undefined || l.name === ask.listener);
  await Promise.all(
    chosen.map(async (l) => {
      const reasons = [...collateralReasons];
      if (!l.listening) reasons.push('not listening');
      if (ask.backend) {
        const target = s.config.listeners.find((c) => c.name === l.name)?.forward;
        if (target && !(await probeBackend(target))) reasons.push('backend does not accept connections');
      }
      out[l.name] = { ready: reasons.length === 0, ...(reasons.length ? { reasons } : {}) };
    }),
  );
  const ok = chosen.length > 0 && Object.values(out).every((l) => l.ready);
  return { ok, body: { status: ok ? 'ready' : 'not_ready', listeners: out } };
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

/** Paths a probe or a scraper may read without credentials (they reveal no configuration). */
const OPEN_PATHS = new Set(['/livez', '/readyz', '/metrics']);
/** The 401 body's message when no admin credential is configured. */
export const NO_AUTH_MESSAGE =
  'admin authentication is not configured: set adminAuth.tokenFile (a file holding a bearer token) or adminAuth.clientCa/cert/key (mTLS) in the configuration; only /livez, /readyz and /metrics answer without it';

/** True when the connection presented a client certificate that Node verified against clientCa. */
function clientCertOk(req: http.IncomingMessage): boolean {
  return (req.socket as TLSSocket).authorized === true;
}

/**
 * The HTTPS admin server of `adminAuth` mTLS. The client certificate is requested and verified
 * against clientCa during the handshake, but a connection without one is let through to the HTTP
 * layer: kubelet's HTTPS probes and most balancers' checks cannot present a certificate, and
 * /livez, /readyz and /metrics reveal no configuration (the same paths a token leaves open). A
 * certificate that is presented and does not chain is refused at the handshake.
 */
function mtlsServer(m: { clientCa: string; cert: string; key: string }, handler: http.RequestListener): https.Server {
  let opts: https.ServerOptions;
  try {
    opts = { ca: readFileSync(m.clientCa), cert: readFileSync(m.cert), key: readFileSync(m.key) };
  } catch (e) {
    throw new ConfigError('ERR_GATEWAY_FILE', 'config', `adminAuth: ${(e as Error).message}`, { cause: e });
  }
  let server: https.Server;
  try {
    server = https.createServer(
      { ...opts, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      handler,
    );
  } catch (e) {
    throw new ConfigError(
      'ERR_GATEWAY_TLS',
      'config',
      `adminAuth: cert/key/clientCa unusable: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  server.on('secureConnection', (s: TLSSocket) => {
    if (!s.authorized && Object.keys(s.getPeerCertificate() ?? {}).length > 0) s.destroy();
  });
  server.on('tlsClientError', () => undefined);
  return server;
}
/** Longest bearer token file read. */
const MAX_TOKEN_BYTES = 4096;

function readToken(path: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const size = Math.min(fstatSync(fd).size, MAX_TOKEN_BYTES);
    const buf = Buffer.alloc(size);
    const n = readSync(fd, buf, 0, size, 0);
    const t = buf.subarray(0, n).toString('utf8').trim();
    return t.length > 0 ? t : undefined;
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * True when the request carries the bearer token in `tokenFile` (read per request, so rotating the
 * file takes effect at once). Compared as SHA-256 digests in constant time; an unreadable or
 * empty file admits nobody.
 */
function bearerOk(req: http.IncomingMessage, tokenFile: string): boolean {
  const m = /^Bearer ([\x21-\x7e]{1,4096})$/.exec(req.headers.authorization ?? '');
  const want = readToken(tokenFile);
  if (!m?.[1] || !want) return false;
  const h = (x: string) => createHash('sha256').update(x).digest();
  return timingSafeEqual(h(m[1]), h(want));
}

/**
 * DNS rebinding: a page on evil.example whose name later resolves to 127.0.0.1 makes the browser
 * send `Host: evil.example`. Only IP literals, `localhost` and the configured names are admitted;
 * an `Origin` (browsers only) must name one of them too.
 */
function hostAllowed(req: http.IncomingMessage, allowed: ReadonlySet<string>): boolean {
  const nameOk = (hostport: string): boolean => {
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::\d{1,5})?$/.exec(hostport);
    if (!m?.[1]) return false;
    const host = m[1].toLowerCase();
    return host === 'localhost' || net.isIP(host.replace(/^\[|\]$/g, '')) !== 0 || allowed.has(host);
  };
  const host = req.headers.host;
  if (host !== undefined && !nameOk(host)) return false;
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let u: URL;
    try {
      u = new URL(origin);
    } catch {
      return false;
    }
    if (!nameOk(u.host)) return false;
  }
  return true;
}

const json = (res: http.ServerResponse, status: number, body: unknown, extra: http.OutgoingHttpHeaders = {}) =>
  res.writeHead(status, { 'content-type': 'application/json', ...extra }).end(JSON.stringify(body));

/**
 * Serves GET/HEAD /livez, /readyz (all listeners, or `/readyz/<listener>`; `?backend=1` also probes
 * the backend), /healthz and /metrics on `addr`; anything else is 404 (405 for other methods).
 * Every request's Host/Origin is checked (DNS rebinding, 403 ERR_ADMIN_HOST); everything but
 * /livez, /readyz and /metrics needs the bearer token of `auth.tokenFile` (401
 * ERR_ADMIN_UNAUTHORIZED) or, with `auth.mtls` (the server then speaks HTTPS), a client
 * certificate chaining to its clientCa; without either it is refused outright (401, the body
 * names the keys to set): the detail and the console are never open by default.
 * @example const admin = await startAdmin({ host: '127.0.0.1', port: 9090 }, { health: () => gw.health(), ready: (q) => gw.ready(q), metrics });
 */
export async function startAdmin(
  addr: HostPort,
  deps: {
    health: () => Health;
    ready?: (ask: { listener?: string; backend?: boolean }) => Promise<Readiness>;
    metrics: Pick<GatewayMetrics, 'registry'>;
    /** The exposition text (a cluster primary: aggregated over its workers); default the registry's. */
    metricsText?: () => Promise<string>;
    auth?: AdminAuthConfig;
    /** The incident console's live data (/console, behind the same Host and token checks). */
    console?: ConsoleHub;
    /** Unix ms for the console's "time left" (default Date.now). */
    now?: () => number;
  },
): Promise<AdminServer> {
  const { registry } = deps.metrics;
  const text = deps.metricsText ?? (() => registry.metrics());
  const allowedHosts = new Set((deps.auth?.allowedHosts ?? []).map((h) => h.toLowerCase()));
  const handler: http.RequestListener = (req, res) => {
    const [path = '/', query = ''] = (req.url ?? '/').split('?');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (!hostAllowed(req, allowedHosts)) {
      json(res, 403, { error: 'ERR_ADMIN_HOST', message: 'Host or Origin is not an address of this gateway' });
      return;
    }
    const open = OPEN_PATHS.has(path) || path.startsWith('/readyz/');
    const tokenFile = deps.auth?.tokenFile;
    const mtls = deps.auth?.mtls;
    // Fail closed: with no credential configured, /healthz's detail (policies, anchors,
    // collateral) and the console stay shut, and the answer names the key that opens them.
    if (!open && !tokenFile && !mtls) {
      json(res, 401, { error: 'ERR_ADMIN_UNAUTHORIZED', message: NO_AUTH_MESSAGE });
      return;
    }
    // Either configured credential admits: a verified client certificate or the bearer token.
    if (!open && !(mtls && clientCertOk(req)) && !(tokenFile && bearerOk(req, tokenFile))) {
      json(
        res,
        401,
        { error: 'ERR_ADMIN_UNAUTHORIZED' },
        tokenFile ? { 'www-authenticate': 'Bearer realm="ratls-admin"' } : {},
      );
      return;
    }
    if (deps.console) {
      const c = { hub: deps.console, health: () => deps.health().body, now: deps.now ?? Date.now };
      if (serveConsole(req, res, path, c)) return;
    }
    if (path === '/livez') {
      json(res, 200, { status: 'live' });
      return;
    }
    if (path === '/readyz' || path.startsWith('/readyz/')) {
      // Listener names are [A-Za-z0-9_-]: no decoding needed, and none that could throw on `%zz`.
      const listener = path.startsWith('/readyz/') ? path.slice(8) : undefined;
      const backend = new URLSearchParams(query).get('backend') === '1';
      if (!deps.ready) {
        json(res, 200, { status: 'ready', listeners: {} });
        return;
      }
      deps.ready({ ...(listener !== undefined ? { listener } : {}), backend }).then(
        (r) => {
          if (listener !== undefined && !(listener in r.body.listeners)) json(res, 404, { error: 'no such listener' });
          else json(res, r.ok ? 200 : 503, r.body);
        },
        () => res.writeHead(500).end(),
      );
      return;
    }
    if (path === '/healthz') {
      const h = deps.health();
      json(res, h.ok ? 200 : 503, h.body);
      return;
    }
    if (path === '/metrics') {
      text().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        () => res.writeHead(500).end(),
      );
      return;
    }
    json(res, 404, { error: 'not found' });
  };
  const server = deps.auth?.mtls ? mtlsServer(deps.auth.mtls, handler) : http.createServer(handler);
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
