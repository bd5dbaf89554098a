/**
 * The gateway's YAML configuration: validated with zod, located with the yaml document API so
 * every error names its line and column, and normalized (relative paths resolved against the
 * config file's directory, addresses split, limits defaulted).
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '@ratls/evidence';
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

export const MAX_CONFIG_BYTES = 256 * 1024;

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
}

/** Largest request body forwarded by default (413 above it). */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface HttpForwardTarget {
  kind: 'http';
  url: URL;
  /** Extra request header names removed before forwarding (canonical: lower case, `_` as `-`). */
  stripHeaders: string[];
  /** Request bodies above this are refused with 413. */
  maxBodyBytes: number;
  /** Accept absolute-form targets (`GET http://host/path`), forwarding only their path and query. */
  allowAbsoluteForm: boolean;
}

export type ForwardTarget =
  | HttpForwardTarget
  | { kind: 'tcp'; host: string; port: number; proxyProtocol: boolean }
  | { kind: 'unix'; path: string; proxyProtocol: boolean };

/** The limits a listener may set for itself (`listeners[].limits`); the others are gateway-wide. */
export type ListenerLimits = Pick<
  GatewayLimits,
  'handshakeTimeoutMs' | 'clientHelloTimeoutMs' | 'maxPendingPerSource' | 'maxConnections'
>;

export interface ListenerConfig {
  name: string;
  listen: HostPort;
  /** The gateway's limits with this listener's own on top. */
  limits: ListenerLimits;
  tls: { cert: string; key: string };
  forward: ForwardTarget;
  /** Absolute path of this listener's policy (the global one unless overridden). */
  policy: string;
  // --- operations (issue 16): how a refused peer is told ---
  /** `close` (default): a refused handshake is closed; `http-403`: an HTTP listener answers 403 with the reason code. */
  refusal?: 'close' | 'http-403';
}

// --- operations (issue 16): admin authentication ---
/** `adminAuth`: the bearer token file and the extra Host names the admin server answers to. */
export interface AdminAuthConfig {
  /** Absolute path of a file holding the bearer token (read per request). */
  tokenFile?: string;
  /** Host names (besides IP literals and localhost) admitted in Host/Origin. */
  allowedHosts: string[];
}

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
  /** Processes serving the listeners (1: this process; N > 1: a cluster primary and N workers). */
  workers: number;
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

const forwardSchema = z.union([
  z.strictObject({
    http: z.url({ protocol: /^http$/ }),
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
  z.strictObject({ tcp: address, proxyProtocol: z.boolean().optional() }),
  z.strictObject({ unix: z.string().min(1), proxyProtocol: z.boolean().optional() }),
]);

const listenerLimitsSchema = {
  handshakeTimeoutMs: positiveInt(300_000).optional(),
  clientHelloTimeoutMs: positiveInt(60_000).optional(),
  maxPendingPerSource: positiveInt(1_000_000).optional(),
  maxConnections: positiveInt(1_000_000).optional(),
};

const schema = z.strictObject({
  version: z.literal(1),
  trust: z.strictObject({
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
  }),
  policy: z.string().min(1),
  audit: z.union([z.literal('stdout'), z.strictObject({ file: z.string().min(1) })]).optional(),
  admin: address.optional(),
  // --- operations (issue 16): admin authentication ---
  adminAuth: z
    .strictObject({
      tokenFile: z.string().min(1).optional(),
      allowedHosts: z
        .array(z.string().regex(/^[a-z0-9.-]{1,253}$/i, 'a DNS name'))
        .max(32)
        .optional(),
    })
    .optional(),
  workers: z.union([z.number().int().min(1).max(256), z.literal('auto')]).optional(),
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
        tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }),
        forward: forwardSchema,
        policy: z.string().min(1).optional(),
        limits: z.strictObject(listenerLimitsSchema).optional(),
        // --- operations (issue 16) ---
        refusal: z.enum(['close', 'http-403']).optional(),
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

function located(source: string, lc: LineCounter, offset: number | undefined, path: string, msg: string): string {
  const pos = offset !== undefined ? lc.linePos(offset) : undefined;
  return `${source}:${pos ? `${pos.line}:${pos.col}` : '1:1'}: ${path ? `${path}: ` : ''}${msg}`;
}

/**
 * Validates configuration text. `source` is the file's absolute path (relative paths in the file
 * resolve against its directory).
 * @example parseGatewayConfig(readFileSync(p, 'utf8'), resolve(p)).listeners[0].listen.port
 */
export function parseGatewayConfig(text: string, source: string): GatewayConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      located(source, lc, e?.pos[0], '', e?.message.split('\n')[0] ?? 'YAML syntax error'),
    );
  }
  let plain: unknown;
  try {
    // Aliases are legitimate YAML but bounded: an alias bomb must not expand into gigabytes.
    plain = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      located(source, lc, undefined, '', `YAML: ${(e as Error).message.split('\n')[0]}`),
      { cause: e },
    );
  }
  const parsed = schema.safeParse(plain);
  if (!parsed.success) {
    const lines = parsed.error.issues.slice(0, 5).map((i) => {
      const path = i.path.filter((p): p is string | number => typeof p !== 'symbol');
      // Point at the deepest node that exists (an unknown or missing key points at its parent map).
      let offset: number | undefined;
      for (let n = path.length; n >= 0 && offset === undefined; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (node && typeof node === 'object' && 'range' in node) {
          const r = (node as { range?: [number, number, number] | null }).range;
          if (r) offset = r[0];
        }
      }
      let extra = '';
      if (i.code === 'unrecognized_keys') {
        // Point at the unknown key itself rather than its map.
        const keys = (i as { keys?: string[] }).keys ?? [];
        const map = path.length === 0 ? doc.contents : doc.getIn(path, true);
        if (isMap(map)) {
          const pair = map.items.find((p) => isScalar(p.key) && keys.includes(String(p.key.value)));
          if (pair && isScalar(pair.key) && pair.key.range) offset = pair.key.range[0];
        }
        extra = ` (${keys.join(', ')})`;
      }
      const msg = /received undefined$/.test(i.message) ? 'required, but missing' : i.message;
      return located(source, lc, offset, pathText(path), `${msg}${extra}`);
    });
    throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', lines.join('\n'));
  }
  if (!isMap(doc.contents)) throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', `${source}: not a YAML map`);
  return normalize(parsed.data, source, doc, lc);
}

function pathText(path: (string | number)[]): string {
  return path.map((p, k) => (typeof p === 'number' ? `[${p}]` : k === 0 ? p : `.${p}`)).join('');
}

function normalize(
  raw: RawConfig,
  source: string,
  doc: ReturnType<typeof parseDocument>,
  lc: LineCounter,
): GatewayConfig {
  const dir = dirname(source);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const at = (path: (string | number)[], msg: string): string => {
    const node = doc.getIn(path, true) as { range?: [number, number, number] } | undefined;
    return located(source, lc, node?.range?.[0], pathText(path), msg);
  };

  let collateral: CollateralConfig;
  const t = raw.trust;
  if (t.pccs !== undefined && t.collateral !== undefined)
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(['trust'], 'give either collateral files or pccs, not both'),
    );
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
      'ERR_GATEWAY_CONFIG',
      'config',
      at(['trust'], 'collateral (file or list of files) or pccs (URL) is required'),
    );
  }

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
    const f = l.forward;
    let forward: ForwardTarget;
    if ('http' in f)
      forward = {
        kind: 'http',
        url: new URL(f.http),
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
      forward = { kind: 'tcp', host: hp.host, port: hp.port, proxyProtocol: f.proxyProtocol ?? false };
    } else forward = { kind: 'unix', path: abs(f.unix), proxyProtocol: f.proxyProtocol ?? false };
    const own = stripUndefined(l.limits ?? {});
    return {
      name: l.name,
      listen,
      limits: {
        handshakeTimeoutMs: own.handshakeTimeoutMs ?? limits.handshakeTimeoutMs,
        clientHelloTimeoutMs: own.clientHelloTimeoutMs ?? limits.clientHelloTimeoutMs,
        maxPendingPerSource: own.maxPendingPerSource ?? limits.maxPendingPerSource,
        maxConnections: own.maxConnections ?? limits.maxConnections,
      },
      tls: { cert: abs(l.tls.cert), key: abs(l.tls.key) },
      forward,
      policy: abs(l.policy ?? raw.policy),
      ...(l.refusal ? { refusal: l.refusal } : {}),
    };
  });
  // --- operations (issue 16): refusal mode and admin exposure ---
  raw.listeners.forEach((l, k) => {
    if (l.refusal === 'http-403' && !('http' in l.forward))
      throw new ConfigError(
        'ERR_GATEWAY_CONFIG',
        'config',
        at(['listeners', k, 'refusal'], 'refusal: http-403 needs an http forward (a TCP peer cannot read a 403)'),
      );
  });
  const admin = raw.admin !== undefined ? parseHostPort(raw.admin) : undefined;
  const adminAuth: AdminAuthConfig | undefined = raw.adminAuth
    ? {
        ...(raw.adminAuth.tokenFile ? { tokenFile: abs(raw.adminAuth.tokenFile) } : {}),
        allowedHosts: raw.adminAuth.allowedHosts ?? [],
      }
    : undefined;
  if (admin && !isLoopback(admin.host) && !adminAuth?.tokenFile)
    throw new ConfigError(
      'ERR_GATEWAY_CONFIG',
      'config',
      at(
        ['admin'],
        `admin binds ${admin.host}, beyond loopback: set adminAuth.tokenFile (anyone who reaches the port could read /healthz)`,
      ),
    );

  return {
    source,
    trust: {
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
    },
    policy: abs(raw.policy),
    audit: raw.audit === undefined || raw.audit === 'stdout' ? 'stdout' : { file: abs(raw.audit.file) },
    admin,
    ...(adminAuth ? { adminAuth } : {}),
    workers: raw.workers === 'auto' ? availableParallelism() : (raw.workers ?? 1),
    limits,
    listeners,
  };
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
  let text: string;
  try {
    const st = statSync(source);
    if (st.size > MAX_CONFIG_BYTES) {
      throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', `${source}: ${st.size} bytes, above ${MAX_CONFIG_BYTES}`);
    }
    text = readFileSync(source, 'utf8');
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError('ERR_GATEWAY_CONFIG', 'config', `${source}: cannot read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return parseGatewayConfig(text, source);
}
