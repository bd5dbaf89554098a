/**
 * `ratls client`'s YAML configuration: the attester (detected provider, Nitro, or a simulation),
 * the trust and policy that judge each server, and the local listeners. Same style as the
 * gateway's (strict zod schema, errors with file:line:col and the key path, relative paths
 * resolved against the file's directory), through the same shared reader.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@ratls/evidence';
import { z } from 'zod';
import {
  type AdminAuthConfig,
  adminTokenAuthFields,
  type GatewayConfig,
  type HostPort,
  normalizeTrust,
  parseHostPort,
  trustSchema,
} from '../gateway/config/config.js';
import {
  type AttestedCredentialsConfig,
  type AttesterConfig,
  attesterFields,
  normalizeAttester,
} from '../shared/attester-config.js';
import { parseYamlConfig, readConfigText } from '../shared/yaml-config.js';

/** Where a local program connects: a UNIX socket path or a loopback TCP address. */
export type LocalAddress = { kind: 'unix'; path: string } | ({ kind: 'tcp' } & HostPort);

/** How a listener judges its server. */
export type ServerVerify =
  /** RA-TLS: the server's evidence, appraised against `trust`, then this policy file. */
  | { kind: 'attested'; policy: string }
  /** A server without attestation, admitted by web-PKI against this CA file (asked for explicitly). */
  | { kind: 'ca'; ca: string };

export interface ClientListenerConfig {
  name: string;
  listen: LocalAddress;
  /** True when `listen` was not written (the default UNIX socket beside the configuration). */
  listenDefaulted: boolean;
  /** TCP on a loopback that is outside the TEE was asked for knowingly (SGX under Gramine). */
  allowHostLoopback: boolean;
  /** `file:line:col: listeners[k].listen` of this listener, for errors found at start. */
  listenAt: string;
  connect: HostPort;
  /** SNI and, with `ca`, the name the server certificate must carry (default the connect host). */
  servername: string;
  verify: ServerVerify;
  /** Concurrent tunnelled connections; more are closed on accept. */
  maxConnections: number;
  /**
   * `channel`: the tunnel speaks the channel exchange (issue 13): it answers the server's challenge
   * with fresh evidence bound to this connection (after the server was judged), and challenges an
   * attested server whose policy identity says `freshness: channel`.
   */
  freshness: 'certificate' | 'channel';
}

/** The attester whose credentials the client presents (shared with the gateway's `attester:`). */
export type { AttesterConfig } from '../shared/attester-config.js';

export interface ClientLimits {
  /** From connect to the decision on the server (TCP, TLS, appraisal). */
  handshakeTimeoutMs: number;
  /** A tunnel with no traffic either way for this long is closed. */
  idleTimeoutMs: number;
  /** On shutdown, open tunnels get this long before they are cut. */
  drainTimeoutMs: number;
  /** Largest server certificate (DER bytes) that is appraised at all. */
  maxCertificateBytes: number;
  /** From the server's certificate decision to the end of the channel exchange (channel mode). */
  channelTimeoutMs: number;
}

export interface ClientConfig {
  /** Absolute path of the file this came from. */
  source: string;
  attester: AttesterConfig;
  credentials: AttestedCredentialsConfig;
  /** Absent when every listener verifies its server with a CA. */
  trust: GatewayConfig['trust'] | undefined;
  /** The default server policy (absolute path), when there is one. */
  policy: string | undefined;
  /** The default of each listener's `freshness`. */
  freshness: 'certificate' | 'channel';
  audit: 'stdout' | { file: string };
  admin: HostPort | undefined;
  // --- operations (issue 16): admin authentication, as the gateway's ---
  /** Bearer token for the admin paths beyond /livez, /readyz, /metrics (without it they answer 401). */
  adminAuth?: AdminAuthConfig;
  limits: ClientLimits;
  listeners: ClientListenerConfig[];
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = {
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  drainTimeoutMs: 10_000,
  maxCertificateBytes: 65_536,
  channelTimeoutMs: 5_000,
};
const DEFAULT_MAX_CONNECTIONS = 256;

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/i;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);
const positiveInt = (max: number) => z.number().int().positive().max(max);
const hostPort = z.string().refine((s) => parseHostPort(s) !== undefined, {
  message: 'expected host:port (IPv6 as [addr]:port), port 0-65535',
});

const listenSchema = z.string().refine(
  (s) => {
    if (s.startsWith('unix:')) return s.length > 5 && s.length <= 5 + 104;
    const hp = parseHostPort(s);
    return hp !== undefined && LOOPBACK_HOSTS.has(hp.host);
  },
  {
    // Whoever reaches the listener speaks as this enclave: never on a routable address.
    message: 'expected unix:/path (at most 104 bytes) or a loopback host:port (127.0.0.1, [::1], localhost)',
  },
);

const schema = z.strictObject({
  version: z.literal(1),
  // provider | simulated, and credentials: the same fields as the gateway's `attester:` block.
  ...attesterFields,
  trust: trustSchema.optional(),
  policy: z.string().min(1).optional(),
  freshness: z.enum(['certificate', 'channel']).optional(),
  audit: z.union([z.literal('stdout'), z.strictObject({ file: z.string().min(1) })]).optional(),
  admin: hostPort.optional(),
  // --- operations (issue 16): admin authentication, as the gateway's ---
  adminAuth: z.strictObject(adminTokenAuthFields).optional(),
  limits: z
    .strictObject({
      handshakeTimeoutMs: positiveInt(300_000).optional(),
      idleTimeoutMs: positiveInt(86_400_000).optional(),
      drainTimeoutMs: z.number().int().min(0).max(600_000).optional(),
      maxCertificateBytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .optional(),
      channelTimeoutMs: positiveInt(60_000).optional(),
    })
    .optional(),
  listeners: z
    .array(
      z.strictObject({
        name: z.string().regex(NAME_RE, 'listener names are 1-32 of [A-Za-z0-9_-]'),
        listen: listenSchema.optional(),
        allowHostLoopback: z.boolean().optional(),
        connect: hostPort,
        servername: z.string().min(1).max(253).optional(),
        policy: z.string().min(1).optional(),
        ca: z.string().min(1).optional(),
        freshness: z.enum(['certificate', 'channel']).optional(),
        maxConnections: positiveInt(1_000_000).optional(),
      }),
    )
    .min(1),
});

type RawClientConfig = z.infer<typeof schema>;
type At = (path: (string | number)[], msg: string) => string;

const fail = (msg: string) => new ConfigError('ERR_CLIENT_CONFIG', 'config', msg);

/**
 * Validates client configuration text; `source` is the file's absolute path.
 * @example parseClientConfig(readFileSync(p, 'utf8'), resolve(p)).listeners[0].connect.port
 */
export function parseClientConfig(text: string, source: string): ClientConfig {
  const { data, at } = parseYamlConfig(text, source, schema, 'ERR_CLIENT_CONFIG');
  return normalize(data, source, at);
}

/**
 * Reads and validates a client configuration file (ConfigError ERR_CLIENT_CONFIG with file:line:col).
 * @example const config = loadClientConfig('/etc/ratls/client.yaml')
 */
export function loadClientConfig(path: string): ClientConfig {
  const source = resolve(path);
  return parseClientConfig(readConfigText(source, 'ERR_CLIENT_CONFIG'), source);
}

function normalize(raw: RawClientConfig, source: string, at: At): ClientConfig {
  const dir = dirname(source);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));

  const freshness = raw.freshness ?? 'certificate';

  const { attester, credentials } = normalizeAttester(raw, [], abs, at, 'ERR_CLIENT_CONFIG');

  const limits: ClientLimits = { ...DEFAULT_CLIENT_LIMITS };
  for (const [k, v] of Object.entries(raw.limits ?? {})) if (v !== undefined) limits[k as keyof ClientLimits] = v;

  const trust = raw.trust ? normalizeTrust(raw.trust, abs, at, 'ERR_CLIENT_CONFIG') : undefined;
  const names = new Set<string>();
  const binds = new Set<string>();
  const listeners = raw.listeners.map((l, k): ClientListenerConfig => {
    const here = (key: string) => ['listeners', k, key];
    if (names.has(l.name)) throw fail(at(here('name'), `duplicate listener name ${l.name}`));
    names.add(l.name);
    const listen: LocalAddress =
      l.listen === undefined
        ? { kind: 'unix', path: resolve(dir, `${l.name}.sock`) }
        : l.listen.startsWith('unix:')
          ? { kind: 'unix', path: abs(l.listen.slice(5)) }
          : { kind: 'tcp', ...(parseHostPort(l.listen) as HostPort) };
    const bind = listen.kind === 'unix' ? listen.path : `${listen.host}:${listen.port}`;
    if ((listen.kind === 'unix' || listen.port !== 0) && binds.has(bind))
      throw fail(at(here('listen'), `${bind} is used by another listener`));
    binds.add(bind);
    if (l.allowHostLoopback && listen.kind !== 'tcp')
      throw fail(at(here('allowHostLoopback'), 'applies to TCP listeners only'));
    const connect = parseHostPort(l.connect) as HostPort;
    if (connect.port === 0) throw fail(at(here('connect'), 'port 0 is not a port'));
    let verify: ServerVerify;
    if (l.ca !== undefined) {
      if (l.policy !== undefined) throw fail(at(here('ca'), 'give either ca (a server without attestation) or policy'));
      verify = { kind: 'ca', ca: abs(l.ca) };
    } else {
      const policy = l.policy ?? raw.policy;
      if (policy === undefined)
        throw fail(at(here('connect'), 'no policy for this server: set policy (here or at the top) or ca'));
      if (!trust) throw fail(at([], 'trust is required to verify attested servers'));
      verify = { kind: 'attested', policy: abs(policy) };
    }
    return {
      name: l.name,
      listen,
      listenDefaulted: l.listen === undefined,
      allowHostLoopback: l.allowHostLoopback ?? false,
      listenAt: at(l.listen === undefined ? ['listeners', k] : here('listen'), '').replace(/: $/, ''),
      connect,
      servername: l.servername ?? connect.host,
      verify,
      maxConnections: l.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      freshness: l.freshness ?? freshness,
    };
  });

  return {
    source,
    attester,
    credentials,
    trust,
    policy: raw.policy !== undefined ? abs(raw.policy) : undefined,
    freshness,
    audit: raw.audit === undefined || raw.audit === 'stdout' ? 'stdout' : { file: abs(raw.audit.file) },
    admin: raw.admin !== undefined ? parseHostPort(raw.admin) : undefined,
    ...(raw.adminAuth
      ? {
          adminAuth: {
            ...(raw.adminAuth.tokenFile ? { tokenFile: abs(raw.adminAuth.tokenFile) } : {}),
            allowedHosts: raw.adminAuth.allowedHosts ?? [],
          },
        }
      : {}),
    limits,
    listeners,
  };
}

/**
 * What must not change without a restart (sockets are bound, the attester and audit sink are
 * open); undefined when a reload can apply `b` over `a`.
 * @example clientRestartOnly(running.config, next) // 'listeners changed'
 */
export function clientRestartOnly(a: ClientConfig, b: ClientConfig): string | undefined {
  const key = (l: ClientListenerConfig) => `${l.name}@${JSON.stringify(l.listen)}/${l.maxConnections}`;
  if (a.listeners.map(key).join(',') !== b.listeners.map(key).join(',')) return 'listeners changed';
  if (JSON.stringify(a.attester) !== JSON.stringify(b.attester)) return 'attester changed';
  if (JSON.stringify(a.credentials) !== JSON.stringify(b.credentials)) return 'credentials changed';
  if (JSON.stringify(a.admin) !== JSON.stringify(b.admin)) return 'admin address changed';
  if (JSON.stringify(a.audit) !== JSON.stringify(b.audit)) return 'audit sink changed';
  if (JSON.stringify(a.limits) !== JSON.stringify(b.limits)) return 'limits changed';
  return undefined;
}
