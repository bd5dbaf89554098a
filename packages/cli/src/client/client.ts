/**
 * `startClient`: the enclave-side counterpart of the gateway. Opens the attester and its
 * self-renewing credentials, builds the state a reload may replace (policies, CA files, the
 * verification path: the gateway's own `buildTrust`), binds each local listener (tunnel.ts),
 * serves /healthz and /metrics with the gateway's admin server and metrics, audits with the
 * verifier's audit writer, and reloads on SIGHUP (run.ts) or file change like the gateway.
 */
import tls from 'node:tls';
import {
  type AttestedCredentials,
  createAttestedCredentials,
  createChannelAttester,
  type QuoteProvider,
} from '@ratls/attester';
import { ConfigError } from '@ratls/evidence';
import { type AuditLog, type AuditSink, createAuditLog, loadPolicyFile, type Policy } from '@ratls/verifier';
import { Gauge } from 'prom-client';
import { type AdminServer, type Health, startAdmin } from '../gateway/admin.js';
import type { CertificateVerify } from '../gateway/appraiser.js';
import type { HostPort } from '../gateway/config/config.js';
import { defaultLog, type GatewayLog } from '../gateway/log.js';
import { createGatewayMetrics, type GatewayMetrics, setPolicyHashes } from '../gateway/metrics.js';
import { type FileWatch, type ReloadResult, serializedReload, watchConfigFiles } from '../gateway/reload.js';
import { type BuiltTrust, buildTrust, readText } from '../gateway/state.js';
import { RATLS_VERSION } from '../version.js';
import { type ClientConfig, clientRestartOnly, type LocalAddress, loadClientConfig } from './config.js';
import { type AfterHandshake, channelMode } from './freshness.js';
import { checkLoopback, openProvider, SIMULATION_WARNING } from './provider.js';
import { startTunnel, type Tunnel, type TunnelView } from './tunnel.js';

export interface StartClientOptions {
  /** Decision clock, Unix milliseconds (default Date.now). */
  clock?: () => number;
  /** Overrides the config's audit sink (tests use a callback). */
  auditSink?: AuditSink;
  /** Operational log (default: JSON lines on stderr). */
  log?: GatewayLog;
  /** Debounce for file-change reloads (default 300 ms); `false` disables watching. */
  watch?: { debounceMs?: number } | false;
  /** Overrides the configured attester (embedding, tests). */
  provider?: QuoteProvider;
  /** Replaces server certificate verification (tests only; the policy still applies). */
  dangerousVerify?: CertificateVerify;
}

/** Everything a reload may replace, built and validated as a whole before it is swapped in. */
export interface ClientState {
  config: ClientConfig;
  /** The verification path for attested servers (absent when every listener uses a CA). */
  trust: BuiltTrust | undefined;
  policies: Map<string, Policy>;
  /** CA PEM by file path (listeners that verify a server without attestation). */
  cas: Map<string, string>;
}

export interface Client {
  /** Bound local addresses by listener name, plus `admin` when configured. */
  addresses(): Record<string, LocalAddress>;
  reload(): Promise<ReloadResult>;
  /** Stops accepting, lets tunnels finish until the drain deadline, stops renewal, flushes audit. */
  close(): Promise<void>;
  readonly metrics: GatewayMetrics;
  readonly credentials: AttestedCredentials;
  health(): Health;
}

/**
 * Reads what a client configuration names besides the provider: server policies, CA files, trust.
 * @example const s = await buildClientState(loadClientConfig(path), undefined, {})
 */
export async function buildClientState(
  config: ClientConfig,
  previous: ClientState | undefined,
  opts: Pick<StartClientOptions, 'dangerousVerify'>,
): Promise<ClientState> {
  const policies = new Map<string, Policy>();
  const cas = new Map<string, string>();
  for (const l of config.listeners) {
    if (l.verify.kind === 'attested' && !policies.has(l.verify.policy))
      policies.set(l.verify.policy, await loadPolicyFile(l.verify.policy));
    if (l.verify.kind === 'ca' && !cas.has(l.verify.ca)) {
      const pem = readText(l.verify.ca, `listener ${l.name}: CA`);
      try {
        tls.createSecureContext({ ca: pem });
      } catch (e) {
        throw new ConfigError(
          'ERR_CLIENT_CONFIG',
          'config',
          `listener ${l.name}: CA ${l.verify.ca} unusable: ${(e as Error).message}`,
        );
      }
      cas.set(l.verify.ca, pem);
    }
  }
  const trust = config.trust ? await buildTrust(config.trust, previous?.trust, opts) : undefined;
  return { config, policies, cas, trust };
}

function viewOf(s: ClientState, name: string): TunnelView {
  const config = s.config.listeners.find((l) => l.name === name);
  if (!config)
    throw new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${name}: not in the configuration in force`);
  return {
    config,
    policy: config.verify.kind === 'attested' ? s.policies.get(config.verify.policy) : undefined,
    ca: config.verify.kind === 'ca' ? s.cas.get(config.verify.ca) : undefined,
    verification: s.trust?.verification,
  };
}

/**
 * Starts every local listener of a client configuration file.
 * @example
 * const c = await startClient('/etc/ratls/client.yaml');
 * console.log(c.addresses()); // { redis: { kind: 'unix', path: '/etc/ratls/redis.sock' } }
 * await c.close();
 */
export async function startClient(configPath: string, opts: StartClientOptions = {}): Promise<Client> {
  const clock = opts.clock ?? Date.now;
  const log = opts.log ?? defaultLog;
  const config = loadClientConfig(configPath);
  const provider = opts.provider ?? (await openProvider(config.attester));
  if (config.attester.kind === 'simulated') log('warn', SIMULATION_WARNING, { provider: provider.name });
  for (const w of checkLoopback(config.listeners, provider)) log('warn', w, { provider: provider.name });
  // One gate for every tunnel: quotes are serialized and rate-limited per server across them.
  const channelAttester = createChannelAttester({ provider });
  const afterHandshake: AfterHandshake = channelMode(channelAttester, config.limits.channelTimeoutMs);

  let state = await buildClientState(config, undefined, opts);
  const credentials = await createAttestedCredentials({
    provider,
    keyType: config.credentials.keyType,
    validitySeconds: config.credentials.validitySeconds,
    ...(config.credentials.renewBeforeSeconds !== undefined
      ? { renewBeforeSeconds: config.credentials.renewBeforeSeconds }
      : {}),
    subject: 'ratls-client',
  });
  let current = credentials.secureContextOptions();
  const metrics = createGatewayMetrics(RATLS_VERSION);
  const notAfter = new Gauge({
    name: 'ratls_client_credentials_not_after_timestamp_seconds',
    help: "notAfter of the client's attested certificate in use (Unix seconds).",
    registers: [metrics.registry],
  });
  notAfter.set(Math.floor(credentials.notAfter.getTime() / 1000));
  const renewals = new Gauge({
    name: 'ratls_client_credential_renewals',
    help: 'Credential renewals by result since start.',
    labelNames: ['result'],
    registers: [metrics.registry],
  });
  credentials.on('renewed', (r) => {
    current = credentials.secureContextOptions();
    notAfter.set(Math.floor(r.notAfter.getTime() / 1000));
    renewals.inc({ result: 'ok' });
    log('info', 'credentials renewed', { notAfter: r.notAfter.toISOString(), spkiSha256: r.spkiSha256 });
  });
  credentials.on('error', (e) => {
    renewals.inc({ result: 'failed' });
    log('error', 'credential renewal failed; the current certificate stays until it expires', {
      code: e.code,
      error: e.message,
    });
  });
  setPolicyHashes(
    metrics,
    [...state.policies.values()].map((p) => p.hash),
  );
  const audit: AuditLog = createAuditLog({ sink: opts.auditSink ?? config.audit, now: () => new Date(clock()) });

  const tunnels: Tunnel[] = [];
  let admin: AdminServer | undefined;
  const health = (): Health => {
    const listeners: Record<string, string> = {};
    const problems: string[] = [];
    for (const t of tunnels) {
      listeners[t.name] = t.listening() ? 'listening' : 'down';
      if (!t.listening()) problems.push(`listener ${t.name} is not listening`);
    }
    if (credentials.expired) problems.push('the attested certificate has expired (renewal keeps failing)');
    return {
      ok: problems.length === 0,
      body: {
        status: problems.length === 0 ? 'ok' : 'unhealthy',
        version: RATLS_VERSION,
        provider: provider.name,
        credentials: { notAfter: credentials.notAfter.toISOString() },
        listeners,
        ...(problems.length ? { problems } : {}),
      },
    };
  };
  const stopAll = async () => {
    await Promise.all(tunnels.map((t) => t.stopAccepting()));
    credentials.close();
    await audit.close();
  };
  try {
    for (const lc of config.listeners) {
      tunnels.push(
        await startTunnel(lc, {
          view: () => viewOf(state, lc.name),
          credentials: () => current,
          afterHandshake,
          channelAttester,
          audit,
          metrics,
          log,
          clock,
          limits: config.limits,
        }),
      );
    }
    if (config.admin)
      admin = await startAdmin(config.admin, {
        health,
        metrics,
        ...(config.adminAuth ? { auth: config.adminAuth } : {}),
      });
  } catch (e) {
    await stopAll();
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('ERR_CLIENT_LISTEN', 'config', `cannot listen: ${(e as Error).message}`, { cause: e });
  }

  const reload = serializedReload<ClientState>({
    configPath,
    load: loadClientConfig,
    restartOnly: clientRestartOnly,
    current: () => state,
    // The client's state is built whole: any refusal keeps the previous one (no partial parts).
    build: async (next, old) => ({ state: await buildClientState(next, old, opts), failed: [] }),
    swap: (built) => {
      state = built;
    },
    audit,
    metrics,
    log,
    clock,
  });
  const watched = () => [state.config.source, ...state.policies.keys(), ...state.cas.keys()];
  const watcher: FileWatch | undefined =
    opts.watch === false
      ? undefined
      : watchConfigFiles(watched(), () => void reload(), { debounceMs: opts.watch?.debounceMs ?? 300, log });

  const addresses = (): Record<string, LocalAddress> => {
    const out: Record<string, LocalAddress> = {};
    for (const t of tunnels) {
      const a = t.address();
      if (a) out[t.name] = a;
    }
    const a: HostPort | undefined = admin?.address();
    if (a) out.admin = { kind: 'tcp', ...a };
    return out;
  };

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      watcher?.close();
      const stopped = tunnels.map((t) => t.stopAccepting());
      // Wall time: the deadline bounds how long shutdown takes, whatever `clock` says.
      const deadline = Date.now() + config.limits.drainTimeoutMs;
      const open = () => tunnels.reduce((n, t) => n + t.openConnections(), 0);
      while (open() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      if (open() > 0) log('warn', 'drain deadline passed; closing remaining connections', { open: open() });
      for (const t of tunnels) t.destroyAll();
      await Promise.all(stopped);
      await admin?.close();
      credentials.close();
      await audit.flush();
      await audit.close();
    })();
    return closed;
  };

  return { addresses, reload, close, metrics, credentials, health };
}
