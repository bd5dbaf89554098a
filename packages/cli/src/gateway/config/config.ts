/**
 * The gateway's YAML configuration: validated with zod, located with the yaml document API so
 * every error names its line and column, and normalized (relative paths resolved against the
 * config file's directory, addresses split, limits defaulted).
 */
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError, type ErrorCode } from '@ratls/evidence';
import { z } from 'zod';
import {
  type AttestedCredentialsConfig,
  type AttesterConfig,
  attesterFields,
  normalizeAttester,
} from '../../shared/attester-config.js';
import { parseYamlConfig, readConfigText } from '../../shared/yaml-config.js';
import { parseCidr } from '../proxy-input.js';

export { MAX_CONFIG_BYTES } from '../../shared/yaml-config.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface GatewayLimits {
  /** From TCP accept to the attestation decision. */
  handshakeTimeoutMs: number;
  /** From TCP accept to the header of the client's first TLS record; a silent socket is closed. */
  clientHelloTimeoutMs: number;
  /**
   * Connections from one source (IPv4 address, IPv6 /64) waiting for a decision at once, per
   * listener; more are closed on accept. The listener-wide bound on waiting ones is maxConnections.
   */
  maxPendingPerSource: number;
  /** Concurrent connections per listener (decided or not); more are dropped on accept. */
  maxConnections: number;
  /** Largest client certificate (DER bytes) that is appraised at all. */
  maxCertificateBytes: number;
  /** An accepted connection with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** On shutdown, open connections get this long to finish before they are cut. */
  drainTimeoutMs: number;
  // --- issue 12 (per-source handshake rate) ---
  /**
   * Handshakes one source (IPv4 address, IPv6 /64) may start per second per listener, with a
   * burst of as many; more are closed on accept, before any TLS work. Unset: no rate bound.
   */
  maxHandshakesPerSecondPerSource?: number;
}

/** Largest request body forwarded by default (413 above it). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface HttpForwardTarget {
  kind: 'http';
  url: URL;
  /** For an `https://` backend: how its certificate is verified (and the gateway's client certificate). */
  tls?: BackendTls;
  /** Relay `Upgrade: websocket` handshakes (off by default: every protocol switch is refused). */
  websocket: boolean;
  /** Extra request header names removed before forwarding (canonical: lower case, `_` as `-`). */
  stripHeaders: string[];
  /** Request bodies above this are refused with 413. */
  maxBodyBytes: number;
  /** Accept absolute-form targets (`GET http://host/path`), forwarding only their path and query. */
  allowAbsoluteForm: boolean;
}

export type ForwardTarget =
  | HttpForwardTarget
  | { kind: 'tcp'; host: string; port: number; proxyProtocol: boolean; tls?: BackendTls }
  | { kind: 'unix'; path: string; proxyProtocol: boolean }
  | PostgresForwardTarget
  | IdentityServeTarget;

// --- PostgreSQL forwarding (issue 14) ---------------------------------------------------------
/** `forward: { postgres: "host:port" | "/path/.s.PGSQL.5432", roles: { identity: role } }`. */
export interface PostgresForwardTarget {
  kind: 'postgres';
  /** The backend: loopback TCP or the server's UNIX socket file. */
  backend: { host: string; port: number } | { path: string };
  /** Policy identity → the PostgreSQL role its sessions must log in as. */
  roles: Record<string, string>;
  /** From hand-off to a complete StartupMessage. */
  startupTimeoutMs: number;
}
const postgresForwardSchema = z.strictObject({
  postgres: z.string().min(1),
  roles: z
    .record(
      z.string().min(1).max(128),
      // NAMEDATALEN - 1 bytes; no NUL (it would end the startup packet's C string).
      z
        .string()
        .min(1)
        .max(63)
        .regex(/^[^\0]+$/, 'a PostgreSQL role name'),
    )
    .refine((r) => Object.keys(r).length > 0, { message: 'map at least one identity to a role' }),
  startupTimeoutMs: z.number().int().positive().max(60_000).optional(),
});
// --- end PostgreSQL forwarding ------------------------------------------------------------------

/** The limits a listener may set for itself (`listeners[].limits`); the others are gateway-wide. */
export type ListenerLimits = Pick<
  GatewayLimits,
  'handshakeTimeoutMs' | 'clientHelloTimeoutMs' | 'maxPendingPerSource' | 'maxConnections'
> &
  Pick<GatewayLimits, 'maxHandshakesPerSecondPerSource'>;

// ---- issue 14 (edges): backend TLS, PROXY v2 input, ALPN, per-listener connection limits ----

/** TLS to a backend, verified strictly against `ca` (never the system store, never unverified). */
export interface BackendTls {
  /** Absolute path of the PEM CA bundle the backend's certificate must chain to. */
  ca: string;
  /** The name the backend's certificate must carry (SNI and hostname check). */
  servername: string;
  /** The gateway's client certificate and key for a backend that wants mTLS (absolute paths). */
  cert?: string;
  key?: string;
}

/** What happens to open connections when a reloaded policy no longer accepts their attestation. */
export type OnPolicyChange = 'close' | 'keep';

export interface ListenerConnectionLimits {
  /**
   * An accepted connection with no traffic either way for this long is closed; 0 is off. Default:
   * the gateway's idleTimeoutMs for HTTP; off for TCP unless the gateway's limits set it (a Redis
   * SUBSCRIBE or a database session may be quiet for hours).
   */
  idleTimeoutMs: number;
  /** An accepted connection older than this is closed, so long sessions re-attest; 0 is off (default). */
  maxConnectionAgeMs: number;
  /** On reload, close (default) or keep open connections the new policy would refuse. */
  onPolicyChange: OnPolicyChange;
}

/** PROXY protocol v2 input: connections from these sources must start with a header. */
export interface ProxyProtocolInput {
  from: string[];
}

// ---- end issue 14 (edges) ----

export interface ListenerConfig {
  name: string;
  listen: HostPort;
  /** The gateway's limits with this listener's own on top. */
  limits: ListenerLimits;
  /** After the decision (from `listeners[].limits` too): idle timeout, connection age, policy changes. */
  connection: ListenerConnectionLimits;
  /**
   * The certificate and key files this listener presents; absent for `tls: attested`, which
   * presents the gateway's self-renewing attested credentials (`attester:`) instead.
   */
  tls?: { cert: string; key: string };
  forward: ForwardTarget;
  /** Absolute path of this listener's policy (the global one unless overridden). */
  policy: string;
  /** Balancers allowed (and required) to send a PROXY v2 header on this listener. */
  proxyProtocol?: ProxyProtocolInput;
  /** ALPN protocols this listener offers, in preference order; none selected when absent. */
  alpn?: string[];
  /** `channel`: every client must answer a challenge with bound fresh evidence (policy identities may also require it). */
  freshness?: 'certificate' | 'channel';
  /** Bound of the channel exchange (default 5 s). */
  channelTimeoutMs?: number;
  // --- operations (issue 16): how a refused peer is told ---
  /**
   * `close` (default): a refused handshake is closed; `http-403`: an HTTP listener answers 403 with
   * the reason code; `channel`: a channel frame with the reason code (channel-speaking clients,
   * `ratls client` and `connectAttested`, raise it as AttestationRefusedError).
   */
  refusal?: 'close' | 'http-403' | 'channel';
}

// --- operations (issue 16): admin authentication ---
/** `adminAuth`: the bearer token file and the extra Host names the admin server answers to. */
export interface AdminAuthConfig {
  /** Absolute path of a file holding the bearer token (read per request). */
  tokenFile?: string;
  /** Host names (besides IP literals and localhost) admitted in Host/Origin. */
  allowedHosts: string[];
  /**
   * mTLS instead of (or beside) the token: the admin server speaks HTTPS with `cert`/`key` and
   * admits to the guarded paths a client whose certificate chains to `clientCa` (absolute paths).
   */
  mtls?: { clientCa: string; cert: string; key: string };
}

// --- incident console (issue 18): alerts ---
/** `alerts`: where alerts for chosen refusal reasons go, how they are batched and rate-limited. */
export interface AlertsConfig {
  webhook?: string;
  /** Absolute path of a JSON-lines file. */
  file?: string;
  reasons?: string[];
  batchMs?: number;
  maxBatchesPerMinute?: number;
}

// --- identities (issue 15): the issuing authority and the listeners that serve it ---
/** A listener named in `identity.listeners`: it answers identity requests instead of forwarding. */
export interface IdentityServeTarget {
  kind: 'identity';
}

/** `identity:` (docs/identities.md): the authority, lifetimes, EAR tokens, and where they are served. */
export interface IdentityConfig {
  trustDomain: string;
  /** The CA files: given by the operator, or made once in `dir` (ca.key mode 0600, ca.pem). */
  ca: { kind: 'files'; cert: string; key: string } | { kind: 'dir'; dir: string };
  /** Seconds. */
  defaultTtlSec: number;
  maxTtlSec: number;
  /** Shorter ceilings for some identities (seconds), by policy identity name. */
  identityMaxTtlSec: Record<string, number>;
  factsArc?: string;
  /** EAR tokens; absent: the token endpoint answers ERR_IDENTITY_TOKEN_INVALID. */
  ear?: {
    issuer: string;
    /** Signing keys shared by every worker (required with workers > 1); absent: one in-memory key. */
    keysDir?: string;
    audiences: string[];
  };
  /** Listener names that serve identities. */
  listeners: string[];
}
// --- end identities ---

export type CollateralConfig =
  | { kind: 'files'; paths: string[] }
  | { kind: 'pccs'; url: string; cacheDir?: string; timeoutMs?: number };

export interface GatewayConfig {
  /** Absolute path of the file this came from. */
  source: string;
  trust: {
    anchors: string[] | undefined;
    collateral: CollateralConfig;
    snp?: { anchors?: string[]; kds?: string };
    nitro?: { anchors?: string[] };
  };
  policy: string;
  audit: 'stdout' | { file: string };
  admin: HostPort | undefined;
  /** Admin authentication and DNS-rebinding names (issue 16); required when admin binds beyond loopback. */
  adminAuth?: AdminAuthConfig;
  // --- incident console (issue 18): alerts ---
  /** Alerts for chosen refusal reasons to a webhook and/or a file (issue 18, docs/console.md). */
  alerts?: AlertsConfig;
  // --- identities (issue 15) ---
  identity?: IdentityConfig;
  /** Processes serving the listeners (1: this process; N > 1: a cluster primary and N workers). */
  workers: number;
  // --- gateway as an attested server (issue 13) ---
  /**
   * The attester behind `tls: attested` listeners (same keys as `ratls client`'s): their
   * certificate carries its evidence, and they answer clients' channel challenges with it.
   */
  attester?: { provider: AttesterConfig; credentials: AttestedCredentialsConfig };
  // --- end gateway as an attested server ---
  // --- TCB lifecycle (issue 17): early TCB warning ---
  /** Appraise every accepted SGX/TDX peer against Intel's `update=early` collateral too (needs `trust.pccs`). */
  earlyTcb: boolean;
  // --- end early TCB warning ---
  limits: GatewayLimits;
  listeners: ListenerConfig[];
}

export const DEFAULT_LIMITS: GatewayLimits = {
  handshakeTimeoutMs: 10_000,
  clientHelloTimeoutMs: 3_000,
  maxPendingPerSource: 32,
  maxConnections: 1024,
  maxCertificateBytes: 65_536,
  idleTimeoutMs: 300_000,
  drainTimeoutMs: 10_000,
};

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/i;

const address = z.string().refine((s) => parseHostPort(s) !== undefined, {
  message: 'expected host:port (IPv6 as [addr]:port), port 0-65535',
});
const positiveInt = (max: number) => z.number().int().positive().max(max);

// ---- issue 14 (edges): schema blocks ----
const backendTlsSchema = z.strictObject({
  ca: z.string().min(1),
  servername: z.string().min(1).max(253),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
});
const cidrSchema = z
  .string()
  .refine((s) => parseCidr(s) !== undefined, { message: 'expected an address or CIDR (10.0.0.0/8, ::1/128)' });
const proxyProtocolSchema = z.strictObject({ from: z.array(cidrSchema).min(1).max(256) });
// RFC 7301 §3.1: a protocol name is 1-255 bytes; printable ASCII here so it can be written in YAML.
const alpnSchema = z
  .array(z.string().regex(/^[\x21-\x7e]{1,255}$/, 'an ALPN protocol id (printable ASCII, 1-255)'))
  .min(1)
  .max(16);
const listenerConnectionLimitsSchema = {
  idleTimeoutMs: z.number().int().min(0).max(86_400_000).optional(),
  maxConnectionAgeMs: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400_000)
    .optional(),
  onPolicyChange: z.enum(['close', 'keep']).optional(),
};
// ---- end issue 14 (edges) ----

const forwardSchema = z.union([
  z.strictObject({
    http: z.url({ protocol: /^https?$/ }),
    tls: backendTlsSchema.optional(),
    websocket: z.boolean().optional(),
    stripHeaders: z
      .array(z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/, 'a header name (RFC 9110 token)'))
      .max(64)
      .optional(),
    maxBodyBytes: z
      .number()
      .int()
      .min(0)
      .max(1024 * 1024 * 1024)
      .optional(),
    allowAbsoluteForm: z.boolean().optional(),
  }),
  z.strictObject({ tcp: address, proxyProtocol: z.boolean().optional(), tls: backendTlsSchema.optional() }),
  z.strictObject({ unix: z.string().min(1), proxyProtocol: z.boolean().optional() }),
  postgresForwardSchema,
]);

const listenerLimitsSchema = {
  handshakeTimeoutMs: positiveInt(300_000).optional(),
  clientHelloTimeoutMs: positiveInt(60_000).optional(),
  maxPendingPerSource: positiveInt(1_000_000).optional(),
  maxConnections: positiveInt(1_000_000).optional(),
  // --- issue 12 (per-source handshake rate) ---
  maxHandshakesPerSecondPerSource: positiveInt(1_000_000).optional(),
};

/** `trust:` (shared with `ratls client`, which verifies the servers it connects to the same way). */
export const trustSchema = z.strictObject({
  anchors: z.array(z.string().min(1)).min(1).optional(),
  collateral: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).optional(),
  pccs: z.url({ protocol: /^https?$/ }).optional(),
  cacheDir: z.string().min(1).optional(),
  pccsTimeoutMs: positiveInt(60_000).optional(),
  /** SEV-SNP: ARK certificates to trust (default the built-in AMD ARKs) and an AMD KDS for VCEKs. */
  snp: z
    .strictObject({
      anchors: z.array(z.string().min(1)).min(1).optional(),
      kds: z.url({ protocol: /^https?$/ }).optional(),
    })
    .optional(),
  /** AWS Nitro: roots to trust (default the AWS Nitro Enclaves Root G1). */
  nitro: z.strictObject({ anchors: z.array(z.string().min(1)).min(1).optional() }).optional(),
});

// --- identities (issue 15): schema ---
/** `900`, `900s`, `15m`, `1h`: seconds, within the authority's bounds (checked again at load). */
const ttlSchema = z.union([
  z.number().int().min(60).max(3600),
  z.string().regex(/^\d{1,5}[smh]$/, 'a duration such as 900s, 15m or 1h'),
]);
const identitySchema = z.strictObject({
  trustDomain: z.string().min(1).max(255),
  ca: z.union([
    z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }),
    z.strictObject({ dir: z.string().min(1) }),
  ]),
  defaultTtl: ttlSchema.optional(),
  maxTtl: ttlSchema.optional(),
  identities: z.record(z.string().min(1).max(64), z.strictObject({ maxTtl: ttlSchema })).optional(),
  factsArc: z.string().min(1).max(128).optional(),
  ear: z
    .strictObject({
      issuer: z.string().min(1).max(255),
      keysDir: z.string().min(1).optional(),
      audiences: z.array(z.string().min(1).max(255)).min(1).max(64),
    })
    .optional(),
  listeners: z.array(z.string().regex(NAME_RE, 'a listener name')).min(1).max(16),
});
// --- end identities: schema ---

/** The bearer-token half of `adminAuth`, shared with `ratls client`'s admin (which has no mTLS). */
export const adminTokenAuthFields = {
  tokenFile: z.string().min(1).optional(),
  allowedHosts: z
    .array(z.string().regex(/^[a-z0-9.-]{1,253}$/i, 'a DNS name'))
    .max(32)
    .optional(),
};

const schema = z.strictObject({
  version: z.literal(1),
  trust: trustSchema,
  policy: z.string().min(1),
  audit: z.union([z.literal('stdout'), z.strictObject({ file: z.string().min(1) })]).optional(),
  admin: address.optional(),
  // --- operations (issue 16): admin authentication ---
  adminAuth: z
    .strictObject({
      ...adminTokenAuthFields,
      clientCa: z.string().min(1).optional(),
      cert: z.string().min(1).optional(),
      key: z.string().min(1).optional(),
    })
    .optional(),
  // --- incident console (issue 18): alerts ---
  alerts: z
    .strictObject({
      webhook: z.url({ protocol: /^https?$/ }).optional(),
      file: z.string().min(1).optional(),
      reasons: z
        .array(z.string().regex(/^[a-z_]{1,64}$/, 'a reason code'))
        .min(1)
        .max(32)
        .optional(),
      batchMs: z.number().int().min(10).max(600_000).optional(),
      maxBatchesPerMinute: z.number().int().min(1).max(600).optional(),
    })
    .refine((a) => a.webhook !== undefined || a.file !== undefined, 'alerts needs a webhook or a file')
    .optional(),
  // --- identities (issue 15) ---
  identity: identitySchema.optional(),
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).optional(),
  // --- gateway as an attested server (issue 13): provider | simulated, credentials (as ratls client) ---
  attester: z.strictObject(attesterFields).optional(),
  // --- TCB lifecycle (issue 17): early TCB warning ---
  earlyTcb: z.boolean().optional(),
  // --- end early TCB warning ---
  limits: z
    .strictObject({
      ...listenerLimitsSchema,
      maxCertificateBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .optional(),
      idleTimeoutMs: positiveInt(86_400_000).optional(),
      drainTimeoutMs: z.number().int().min(0).max(600_000).optional(),
    })
    .optional(),
  listeners: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME_RE, 'listener names are 1-32 of [A-Za-z0-9_-]'),
        listen: address,
        // `attested`: the gateway's attested credentials (issue 13, the `attester:` block).
        tls: z.union([z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }), z.literal('attested')]),
        // Absent only on a listener named in identity.listeners (it serves identities instead).
        forward: forwardSchema.optional(),
        policy: z.string().min(1).optional(),
        limits: z.strictObject({ ...listenerLimitsSchema, ...listenerConnectionLimitsSchema }).optional(),
        proxyProtocol: proxyProtocolSchema.optional(),
        alpn: alpnSchema.optional(),
        // --- channel mode (issue 13): listener-level freshness; identities can also ask in the policy ---
        freshness: z.enum(['certificate', 'channel']).optional(),
        channelTimeoutMs: positiveInt(60_000).optional(),
        // --- end channel mode ---
        // --- operations (issue 16) ---
        refusal: z.enum(['close', 'http-403', 'channel']).optional(),
      }),
    )
    .min(1),
});

type RawConfig = z.infer<typeof schema>;

/** `host:port` or `[v6]:port`; undefined when malformed. */
export function parseHostPort(s: string): HostPort | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? m[2]) as string, port };
}

/** `host:port` for display, bracketing IPv6. */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Validates configuration text. `source` is the file's absolute path (relative paths in the file
 * resolve against its directory).
 * @example parseGatewayConfig(readFileSync(p, 'utf8'), resolve(p)).listeners[0].listen.port
 */
export function parseGatewayConfig(text: string, source: string): GatewayConfig {
  const { data, at } = parseYamlConfig(text, source, schema, 'ERR_GATEWAY_CONFIG');
  return normalize(data, source, at);
}

function normalize(
  raw: RawConfig,
  source: string,
  at: (path: (string | number)[], msg: string) => string,
): GatewayConfig {
  const dir = dirname(source);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const trust = normalizeTrust(raw.trust, abs, at, 'ERR_GATEWAY_CONFIG');
  const limits: GatewayLimits = { ...DEFAULT_LIMITS, ...stripUndefined(raw.limits ?? {}) };
  const names = new Set<string>();
  const binds = new Set<string>();
  const listeners = raw.listeners.map((l, k): ListenerConfig => {
    if (names.has(l.name))
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'name'], `duplicate listener name ${l.name}`),
      );
    names.add(l.name);
    const listen = parseHostPort(l.listen) as HostPort;
    const bind = formatHostPort(listen);
    if (listen.port !== 0 && binds.has(bind))
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'listen'], `${bind} is used by another listener`),
      );
    binds.add(bind);
    // --- identities (issue 15): an identity listener has no forward; every other one needs it ---
    const serves = raw.identity?.listeners.includes(l.name) === true;
    if (serves && l.forward)
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'forward'], `listener ${l.name} serves identities (identity.listeners): remove forward`),
      );
    if (!serves && !l.forward)
      throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', at(['listeners', k], `listener ${l.name} needs forward`));
    const f = l.forward ?? { identity: true as const };
    let forward: ForwardTarget;
    const backendTls = (b: z.infer<typeof backendTlsSchema> | undefined, path: (string | number)[]) => {
      if (!b) return {};
      if ((b.cert === undefined) !== (b.key === undefined))
        throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', at(path, 'give both cert and key, or neither'));
      return {
        tls: {
          ca: abs(b.ca),
          servername: b.servername,
          ...(b.cert && b.key ? { cert: abs(b.cert), key: abs(b.key) } : {}),
        },
      };
    };
    if ('http' in f && f.http.startsWith('https:') && !f.tls)
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'forward'], 'an https:// backend needs tls: { ca, servername } to verify it'),
      );
    if ('http' in f && f.tls && !f.http.startsWith('https:'))
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'forward', 'tls'], 'tls applies to https:// backends only'),
      );
    if ('http' in f)
      forward = {
        kind: 'http',
        url: new URL(f.http),
        ...backendTls(f.tls, ['listeners', k, 'forward', 'tls']),
        websocket: f.websocket ?? false,
        stripHeaders: (f.stripHeaders ?? []).map((h) => h.toLowerCase().replaceAll('_', '-')),
        maxBodyBytes: f.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
        allowAbsoluteForm: f.allowAbsoluteForm ?? false,
      };
    else if ('tcp' in f) {
      const hp = parseHostPort(f.tcp) as HostPort;
      if (hp.port === 0)
        throw new ConfigError(
          'ERR_GATEWAY_CONFIG',
          'config',
          at(['listeners', k, 'forward', 'tcp'], 'backend port 0 is not a port'),
        );
      forward = {
        kind: 'tcp',
        host: hp.host,
        port: hp.port,
        proxyProtocol: f.proxyProtocol ?? false,
        ...backendTls(f.tls, ['listeners', k, 'forward', 'tls']),
      };
    } else if ('postgres' in f) {
      // PostgreSQL's ALPN rule (only `postgresql`, and only for direct TLS) is the forwarder's own.
      if (l.alpn !== undefined)
        throw new ConfigError(
          'ERR_GATEWAY_CONFIG',
          'config',
          at(['listeners', k, 'alpn'], 'a postgres listener selects ALPN itself (postgresql); remove alpn'),
        );
      forward = postgresForward(f, (m) => at(['listeners', k, 'forward', 'postgres'], m), abs);
    } else if ('identity' in f) forward = { kind: 'identity' };
    else forward = { kind: 'unix', path: abs(f.unix), proxyProtocol: f.proxyProtocol ?? false };
    const own = stripUndefined(l.limits ?? {});
    return {
      name: l.name,
      listen,
      limits: {
        handshakeTimeoutMs: own.handshakeTimeoutMs ?? limits.handshakeTimeoutMs,
        clientHelloTimeoutMs: own.clientHelloTimeoutMs ?? limits.clientHelloTimeoutMs,
        maxPendingPerSource: own.maxPendingPerSource ?? limits.maxPendingPerSource,
        maxConnections: own.maxConnections ?? limits.maxConnections,
        // --- issue 12 (per-source handshake rate) ---
        ...perSourceRate(own.maxHandshakesPerSecondPerSource ?? limits.maxHandshakesPerSecondPerSource),
      },
      connection: {
        // issue 14: a stream listener is not idle-timed unless the operator asked for it.
        idleTimeoutMs:
          l.limits?.idleTimeoutMs ??
          (forward.kind === 'http' || forward.kind === 'identity' || raw.limits?.idleTimeoutMs !== undefined
            ? limits.idleTimeoutMs
            : 0),
        maxConnectionAgeMs: l.limits?.maxConnectionAgeMs ?? 0,
        onPolicyChange: l.limits?.onPolicyChange ?? 'close',
      },
      ...(l.tls === 'attested' ? {} : { tls: { cert: abs(l.tls.cert), key: abs(l.tls.key) } }),
      forward,
      policy: abs(l.policy ?? raw.policy),
      ...(l.proxyProtocol ? { proxyProtocol: { from: [...l.proxyProtocol.from] } } : {}),
      ...(l.alpn ? { alpn: [...l.alpn] } : {}),
      ...(l.freshness !== undefined ? { freshness: l.freshness } : {}),
      ...(l.channelTimeoutMs !== undefined ? { channelTimeoutMs: l.channelTimeoutMs } : {}),
      ...(l.refusal ? { refusal: l.refusal } : {}),
    };
  });
  // --- operations (issue 16): refusal mode and admin exposure ---
  raw.listeners.forEach((l, k) => {
    if (l.refusal === 'http-403' && !(l.forward && 'http' in l.forward))
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'refusal'], 'refusal: http-403 needs an http forward (a TCP peer cannot read a 403)'),
      );
    if (l.refusal === 'channel' && l.freshness !== 'channel' && l.tls !== 'attested')
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(
          ['listeners', k, 'refusal'],
          'refusal: channel needs a listener that speaks the channel exchange (freshness: channel or tls: attested)',
        ),
      );
  });
  // --- gateway as an attested server (issue 13) ---
  const attester = raw.attester
    ? (({ attester: provider, credentials }) => ({ provider, credentials }))(
        normalizeAttester(raw.attester, ['attester'], abs, at, 'ERR_GATEWAY_CONFIG'),
      )
    : undefined;
  raw.listeners.forEach((l, k) => {
    if (l.tls === 'attested' && !attester)
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'tls'], 'tls: attested needs an attester: block (provider or simulated)'),
      );
  });
  if (attester && !raw.listeners.some((l) => l.tls === 'attested'))
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(['attester'], 'no listener uses it: set tls: attested on the listeners that present attested credentials'),
    );
  // --- end gateway as an attested server ---
  const admin = raw.admin !== undefined ? parseHostPort(raw.admin) : undefined;
  const workers = raw.workers === 'auto' ? availableParallelism() : (raw.workers ?? 1);
  const ra = raw.adminAuth;
  const mtlsKeys = ra ? [ra.clientCa, ra.cert, ra.key].filter((v) => v !== undefined).length : 0;
  if (ra && mtlsKeys !== 0 && mtlsKeys !== 3)
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(['adminAuth'], 'adminAuth mTLS needs clientCa, cert and key together (the admin server then speaks HTTPS)'),
    );
  const adminAuth: AdminAuthConfig | undefined = ra
    ? {
        ...(ra.tokenFile ? { tokenFile: abs(ra.tokenFile) } : {}),
        allowedHosts: ra.allowedHosts ?? [],
        ...(ra.clientCa && ra.cert && ra.key
          ? { mtls: { clientCa: abs(ra.clientCa), cert: abs(ra.cert), key: abs(ra.key) } }
          : {}),
      }
    : undefined;
  if (admin && !isLoopback(admin.host) && !adminAuth?.tokenFile && !adminAuth?.mtls)
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(
        ['admin'],
        `admin binds ${admin.host}, beyond loopback: set adminAuth.tokenFile or adminAuth.clientCa/cert/key (anyone who reaches the port could read /healthz)`,
      ),
    );

  return {
    source,
    trust,
    policy: abs(raw.policy),
    audit: raw.audit === undefined || raw.audit === 'stdout' ? 'stdout' : { file: abs(raw.audit.file) },
    admin,
    ...(adminAuth ? { adminAuth } : {}),
    ...(raw.alerts ? { alerts: { ...raw.alerts, ...(raw.alerts.file ? { file: abs(raw.alerts.file) } : {}) } } : {}),
    ...(raw.identity ? { identity: normalizeIdentity(raw.identity, raw, listeners, admin, abs, at) } : {}),
    workers,
    ...(attester ? { attester } : {}),
    earlyTcb: earlyTcbSwitch(raw.earlyTcb, trust, at),
    limits,
    listeners,
  };
}

// --- TCB lifecycle (issue 17): early TCB warning ---
/**
 * `earlyTcb: true` fetches Intel's `update=early` TCB info and QE identity from the same PCCS, so
 * it needs `trust.pccs`: collateral files carry one set only, and a silent no-op would hide the
 * warning the operator asked for. With `workers > 1` it runs in the cluster primary only (the
 * workers forward their accepts, early-ipc.ts), so any worker count is fine.
 * @example earlyTcbSwitch(true, { collateral: { kind: 'pccs', url } }, at) // true
 */
export function earlyTcbSwitch(
  on: boolean | undefined,
  trust: GatewayConfig['trust'],
  at: (path: (string | number)[], msg: string) => string,
): boolean {
  if (on !== true) return false;
  if (trust.collateral.kind !== 'pccs')
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(['earlyTcb'], 'earlyTcb needs trust.pccs (the early collateral is fetched from PCCS with update=early)'),
    );
  return true;
}
// --- end early TCB warning ---
// --- identities (issue 15): normalization ---
function durationSec(v: number | string): number {
  if (typeof v === 'number') return v;
  const n = Number(v.slice(0, -1));
  return n * ({ s: 1, m: 60, h: 3600 } as const)[v.at(-1) as 's' | 'm' | 'h'];
}

/**
 * The `identity:` section checked against the listeners: each named listener exists, is an
 * attested listener requiring `freshness: channel` (identities are issued only for fresh,
 * channel-bound evidence), and is not the admin address; TTLs within 60 s - 1 h, default ≤ max.
 */
function normalizeIdentity(
  id: z.infer<typeof identitySchema>,
  raw: RawConfig,
  listeners: ListenerConfig[],
  admin: HostPort | undefined,
  abs: (p: string) => string,
  at: (path: (string | number)[], msg: string) => string,
): IdentityConfig {
  const fail = (path: (string | number)[], msg: string) =>
    new ConfigError('ERR_GATEWAY_CONFIG', 'config', at(['identity', ...path], msg));
  if (!/^[a-z0-9._-]+$/.test(id.trustDomain))
    throw fail(['trustDomain'], 'a SPIFFE trust domain: lower-case letters, digits, ".", "-" and "_"');
  const ttl = (v: number | string | undefined, fallback: number, path: (string | number)[]) => {
    const t = v === undefined ? fallback : durationSec(v);
    if (!Number.isInteger(t) || t < 60 || t > 3600) throw fail(path, 'a lifetime between 60 s and 1 h');
    return t;
  };
  const maxTtlSec = ttl(id.maxTtl, 3600, ['maxTtl']);
  const defaultTtlSec = ttl(id.defaultTtl, Math.min(900, maxTtlSec), ['defaultTtl']);
  if (defaultTtlSec > maxTtlSec)
    throw fail(['defaultTtl'], `defaultTtl ${defaultTtlSec} s is above maxTtl ${maxTtlSec} s`);
  const identityMaxTtlSec: Record<string, number> = {};
  for (const [name, v] of Object.entries(id.identities ?? {}))
    identityMaxTtlSec[name] = ttl(v.maxTtl, maxTtlSec, ['identities', name, 'maxTtl']);
  const seen = new Set<string>();
  id.listeners.forEach((name, k) => {
    if (seen.has(name)) throw fail(['listeners', k], `listener ${name} is named twice`);
    seen.add(name);
    const l = listeners.find((x) => x.name === name);
    if (!l) throw fail(['listeners', k], `no listener named ${name}`);
    if (l.freshness !== 'channel')
      throw fail(
        ['listeners', k],
        `listener ${name} serves identities, so it must say freshness: channel (a certificate-mode decision can be replayed by whoever stole an enclave key)`,
      );
    if (admin && admin.port !== 0 && admin.port === l.listen.port)
      throw fail(
        ['listeners', k],
        `listener ${name} is on the admin port; identities are served on an attested listener only`,
      );
  });
  const workers = raw.workers === 'auto' ? availableParallelism() : (raw.workers ?? 1);
  if (id.ear && !id.ear.keysDir && workers > 1)
    throw fail(
      ['ear', 'keysDir'],
      'with workers > 1 set ear.keysDir: every worker must sign with the keys the JWKS publishes',
    );
  const ca: IdentityConfig['ca'] =
    'dir' in id.ca
      ? { kind: 'dir', dir: abs(id.ca.dir) }
      : { kind: 'files', cert: abs(id.ca.cert), key: abs(id.ca.key) };
  return {
    trustDomain: id.trustDomain,
    ca,
    defaultTtlSec,
    maxTtlSec,
    identityMaxTtlSec,
    ...(id.factsArc ? { factsArc: id.factsArc } : {}),
    ...(id.ear
      ? {
          ear: {
            issuer: id.ear.issuer,
            ...(id.ear.keysDir ? { keysDir: abs(id.ear.keysDir) } : {}),
            audiences: [...new Set(id.ear.audiences)],
          },
        }
      : {}),
    listeners: [...id.listeners],
  };
}
// --- end identities: normalization ---

/**
 * The `trust:` section with paths made absolute; `at` locates errors, `code` names them.
 * @example normalizeTrust(raw.trust, abs, at, 'ERR_CLIENT_CONFIG').collateral.kind
 */
export function normalizeTrust(
  t: z.infer<typeof trustSchema>,
  abs: (p: string) => string,
  at: (path: (string | number)[], msg: string) => string,
  code: ErrorCode,
): GatewayConfig['trust'] {
  let collateral: CollateralConfig;
  if (t.pccs !== undefined && t.collateral !== undefined)
    throw new ConfigError(code, 'config', at(['trust'], 'give either collateral files or pccs, not both'));
  if (t.pccs !== undefined) {
    collateral = {
      kind: 'pccs',
      url: t.pccs,
      ...(t.cacheDir ? { cacheDir: abs(t.cacheDir) } : {}),
      ...(t.pccsTimeoutMs ? { timeoutMs: t.pccsTimeoutMs } : {}),
    };
  } else if (t.collateral !== undefined) {
    const list = typeof t.collateral === 'string' ? [t.collateral] : t.collateral;
    collateral = { kind: 'files', paths: list.map(abs) };
  } else {
    throw new ConfigError(
      code,
      'config',
      at(['trust'], 'collateral (file or list of files) or pccs (URL) is required'),
    );
  }

  return {
    anchors: t.anchors?.map(abs),
    collateral,
    ...(t.snp
      ? {
          snp: {
            ...(t.snp.anchors ? { anchors: t.snp.anchors.map(abs) } : {}),
            ...(t.snp.kds ? { kds: t.snp.kds } : {}),
          },
        }
      : {}),
    ...(t.nitro?.anchors ? { nitro: { anchors: t.nitro.anchors.map(abs) } } : {}),
  };
}

// --- issue 12 (per-source handshake rate) ---
function perSourceRate(n: number | undefined): Pick<ListenerLimits, 'maxHandshakesPerSecondPerSource'> {
  return n === undefined ? {} : { maxHandshakesPerSecondPerSource: n };
}

/** A UNIX socket path (absolute, or `./` relative to the config file) or host:port with a real port. */
function postgresForward(
  f: z.infer<typeof postgresForwardSchema>,
  at: (msg: string) => string,
  abs: (p: string) => string,
): PostgresForwardTarget {
  const common = { roles: { ...f.roles }, startupTimeoutMs: f.startupTimeoutMs ?? 10_000 };
  if (f.postgres.startsWith('/') || f.postgres.startsWith('./'))
    return { kind: 'postgres', backend: { path: abs(f.postgres) }, ...common };
  const hp = parseHostPort(f.postgres);
  if (!hp || hp.port === 0)
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at('expected host:port or the path of the server socket (/run/postgresql/.s.PGSQL.5432)'),
    );
  return { kind: 'postgres', backend: hp, ...common };
}

/** 127.0.0.0/8, ::1, localhost: the addresses only this machine reaches. */
function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

function stripUndefined<T extends object>(o: T): Partial<GatewayLimits> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<GatewayLimits>;
}

/** Reads and validates a configuration file. Throws ConfigError ERR_GATEWAY_CONFIG with file:line:col. */
export function loadGatewayConfig(path: string): GatewayConfig {
  const source = resolve(path);
  return parseGatewayConfig(readConfigText(source, 'ERR_GATEWAY_CONFIG'), source);
}

// --- JSON Schema and --check support (issue 16) ---

/**
 * The zod schema of a gateway file, for generating its JSON Schema (schemas/gateway.schema.json).
 * @example z.toJSONSchema(gatewayConfigSchema, { io: 'input' })
 */
export const gatewayConfigSchema: z.ZodType = schema;
