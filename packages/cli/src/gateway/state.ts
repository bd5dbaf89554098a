/**
 * The gateway's state: everything a reload may replace (configuration, policies, listener
 * credentials, the verification path and its collateral source), built and validated as a whole
 * from files before anything is swapped in, and the diff that tells a reload from a restart.
 * Pure apart from reading the named files: no socket, no timer, so a worker process can build
 * the same state from the same files.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError, type RatlsError, sha256Hex, toRatlsError } from '@ratls/evidence';
import {
  type CollateralSource,
  collateralFacts,
  collateralFromJson,
  FileCollateralSource,
  KdsCollateralSource,
  loadPolicyFile,
  PccsCollateralSource,
  type Policy,
  type SnpCollateralSource,
  type TrustAnchor,
  trustAnchorFrom,
} from '@ratls/verifier';
import { type CertificateVerify, realVerification, type Verification } from './appraiser.js';
import { formatHostPort, type GatewayConfig, type ListenerConfig } from './config/config.js';

/** A listener's TLS credentials, PEM. */
export interface Credentials {
  cert: string;
  key: string;
}

/** Everything a reload may replace, built and validated as a whole before it is swapped in. */
export interface GatewayState {
  config: GatewayConfig;
  /** Policies by file path (the gateway default and each listener's). */
  policies: Map<string, Policy>;
  /** Per listener name: the secure context options. */
  credentials: Map<string, Credentials>;
  verification: Verification;
  /** Key of what `verification` was built from, to keep its caches across reloads that do not change it. */
  verifyKey: string;
  collateral: CollateralSource;
  /** Collateral files' facts (file sources only), for health and metrics. */
  fileCollateral: Array<{ path: string; fmspc: string; nextUpdateMs: number }>;
  /** The configured trust anchors (none: the built-in vendor roots), for startup warnings and /healthz. */
  anchors: Array<{ vendor: 'intel' | 'amd' | 'aws'; name: string; simulated: boolean }>;
}

/**
 * What one listener reads from the state in force: its own configuration, credentials, policy and
 * the shared verification path. Listeners see only this, never the whole state.
 */
export interface ListenerView {
  config: ListenerConfig;
  credentials: Credentials;
  policy: Policy;
  verification: Verification;
}

/**
 * A file the configuration names, as text; ERR_GATEWAY_FILE names it when unreadable.
 * @example readText('/etc/ratls/policy.yaml', 'policy')
 */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError('ERR_GATEWAY_FILE', 'config', `${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

function readCredentials(l: ListenerConfig & { tls: { cert: string; key: string } }): Credentials {
  const cert = readText(l.tls.cert, `listener ${l.name}: certificate`);
  const key = readText(l.tls.key, `listener ${l.name}: key`);
  try {
    tls.createSecureContext({ cert, key });
  } catch (e) {
    throw new ConfigError(
      'ERR_GATEWAY_TLS',
      'config',
      `listener ${l.name}: certificate/key unusable: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
  return { cert, key };
}

/** What `buildState` takes besides the configuration. */
export interface BuildStateOptions {
  dangerousVerify?: CertificateVerify;
  pccsSource?: CollateralSource;
  kdsSource?: SnpCollateralSource;
  /** The attested credentials in use, for `tls: attested` listeners (they come from no file). */
  attested?: () => Credentials;
}

/**
 * Reads and validates every file the configuration names. With `previous`, the verification path
 * (and its collateral, PCK and result caches) is kept when trust anchors and collateral are unchanged.
 * `pccsSource` stands in for the PCCS source and `kdsSource` for the AMD KDS one (a cluster worker
 * asks the primary's, collateral-ipc.ts).
 * @example
 * const state = await buildState(loadGatewayConfig('/etc/ratls/gateway.yaml'), undefined, {});
 * const next = await buildState(loadGatewayConfig('/etc/ratls/gateway.yaml'), state, {});
 */
export async function buildState(
  config: GatewayConfig,
  previous: GatewayState | undefined,
  opts: BuildStateOptions,
): Promise<GatewayState> {
  return (await buildStateParts(config, previous, opts, false)).state;
}

/** One part of a reload that could not be applied: the previous one stays in force for it. */
export interface FailedPart {
  part: 'policy' | 'certificate';
  /** The policy file, or the listener's certificate file. */
  source: string;
  listener?: string;
  error: RatlsError;
}

/**
 * Like `buildState`, but with `keepOnFailure` each policy file and each listener's certificate
 * and key is a part of its own: a part that fails to load keeps the one in `previous` (when it has
 * one) and is reported in `failed`, so a bad policy edit does not block a certificate rotation
 * and the other way round. Configuration, trust anchors and collateral still fail the whole build.
 * @example const { state, failed } = await buildStateParts(next, current, {}, true); for (const f of failed) log(f.error.code)
 */
export async function buildStateParts(
  config: GatewayConfig,
  previous: GatewayState | undefined,
  opts: BuildStateOptions,
  keepOnFailure: boolean,
): Promise<{ state: GatewayState; failed: FailedPart[] }> {
  const failed: FailedPart[] = [];
  const policies = new Map<string, Policy>();
  for (const path of new Set([config.policy, ...config.listeners.map((l) => l.policy)])) {
    try {
      policies.set(path, await loadPolicyFile(path));
    } catch (e) {
      const kept = previous?.policies.get(path);
      if (!keepOnFailure || !kept) throw e;
      policies.set(path, kept);
      failed.push({ part: 'policy', source: path, error: toRatlsError(e, 'ERR_GATEWAY_POLICY', 'policy') });
    }
  }
  const credentials = new Map<string, Credentials>();
  for (const l of config.listeners) {
    if (!l.tls) {
      // `tls: attested`: the gateway's attested credentials in use (none in a cluster primary,
      // which serves no listener: each worker makes its own key and quote).
      const attested = opts.attested?.();
      if (attested) credentials.set(l.name, attested);
      continue;
    }
    const files = l.tls;
    try {
      credentials.set(l.name, readCredentials({ ...l, tls: files }));
    } catch (e) {
      const kept = previous?.credentials.get(l.name);
      if (!keepOnFailure || !kept) throw e;
      credentials.set(l.name, kept);
      failed.push({
        part: 'certificate',
        source: files.cert,
        listener: l.name,
        error: toRatlsError(e, 'ERR_GATEWAY_TLS', 'config'),
      });
    }
  }

  const trust = await buildTrust(config.trust, previous, opts);
  return { state: { config, policies, credentials, ...trust }, failed };
}

/** The verification path a `trust:` section builds, and the key that tells whether it changed. */
export type BuiltTrust = Pick<GatewayState, 'verification' | 'verifyKey' | 'collateral' | 'fileCollateral' | 'anchors'>;

/**
 * Reads the anchors and collateral a `trust:` section names and builds its verification path;
 * with `previous` built from the same inputs, its verification (and caches) is kept. Shared by
 * the gateway and `ratls client`, which appraise peers the same way.
 * @example const { verification } = await buildTrust(config.trust, undefined, {});
 */
export async function buildTrust(
  trust: GatewayConfig['trust'],
  previous: BuiltTrust | undefined,
  opts: { dangerousVerify?: CertificateVerify; pccsSource?: CollateralSource; kdsSource?: SnpCollateralSource },
): Promise<BuiltTrust> {
  const anchorTexts = trust.anchors?.map((p) => readText(p, 'trust anchor'));
  const snpAnchorTexts = trust.snp?.anchors?.map((p) => readText(p, 'SEV-SNP trust anchor'));
  const nitroAnchorTexts = trust.nitro?.anchors?.map((p) => readText(p, 'Nitro trust anchor'));
  const c = trust.collateral;
  const collateralTexts = c.kind === 'files' ? c.paths.map((p) => readText(p, 'collateral')) : [];
  const verifyKey = sha256Hex(
    JSON.stringify({ trust, anchorTexts, snpAnchorTexts, nitroAnchorTexts, collateralTexts }),
  );

  const fileCollateral: GatewayState['fileCollateral'] = [];
  collateralTexts.forEach((text, k) => {
    const path = (c as { paths: string[] }).paths[k] as string;
    try {
      const f = collateralFacts(collateralFromJson(text));
      fileCollateral.push({ path, fmspc: f.fmspc, nextUpdateMs: f.nextUpdate });
    } catch (e) {
      throw toRatlsError(e, 'ERR_GATEWAY_COLLATERAL', 'config');
    }
  });

  const anchorFacts: GatewayState['anchors'] = [];
  const describe = (vendor: 'intel' | 'amd' | 'aws', texts: string[] | undefined) => {
    for (const t of texts ?? []) {
      const a = trustAnchorFrom(t);
      anchorFacts.push({ vendor, name: a.name, simulated: a.simulated === true });
    }
  };
  describe('intel', anchorTexts);
  describe('amd', snpAnchorTexts);
  describe('aws', nitroAnchorTexts);
  const common = { verifyKey, fileCollateral, anchors: anchorFacts };
  if (previous && previous.verifyKey === verifyKey && !opts.dangerousVerify) {
    return { ...common, verification: previous.verification, collateral: previous.collateral };
  }
  let anchors: TrustAnchor[] | undefined;
  if (anchorTexts) anchors = anchorTexts.map((t) => trustAnchorFrom(t));
  const collateral: CollateralSource =
    c.kind === 'files'
      ? new FileCollateralSource(c.paths)
      : (opts.pccsSource ??
        new PccsCollateralSource(c.url, {
          ...(c.cacheDir ? { cacheDir: c.cacheDir } : {}),
          ...(c.timeoutMs ? { timeoutMs: c.timeoutMs } : {}),
        }));
  const verification: Verification = opts.dangerousVerify
    ? { kind: 'dangerous', verify: opts.dangerousVerify }
    : realVerification(collateral, anchors, {
        ...(snpAnchorTexts || trust.snp?.kds
          ? {
              snp: {
                ...(snpAnchorTexts ? { trustAnchors: snpAnchorTexts.map((t) => trustAnchorFrom(t)) } : {}),
                ...(trust.snp?.kds ? { kds: opts.kdsSource ?? new KdsCollateralSource(trust.snp.kds) } : {}),
              },
            }
          : {}),
        ...(nitroAnchorTexts ? { nitroTrustAnchors: nitroAnchorTexts.map((t) => trustAnchorFrom(t)) } : {}),
      });
  return { ...common, verification, collateral };
}

/**
 * One listener's view of a state. By name, not a captured config: a reload may point the
 * listener at another policy file or backend.
 * @example const view = listenerView(state, 'api'); view.policy.hash
 */
export function listenerView(s: GatewayState, name: string): ListenerView {
  const config = s.config.listeners.find((x) => x.name === name);
  const credentials = s.credentials.get(name);
  if (!config || !credentials) {
    throw new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${name}: not in the configuration in force`);
  }
  const policy = s.policies.get(config.policy);
  if (!policy) {
    throw new ConfigError('ERR_GATEWAY_POLICY', 'policy', `listener ${name}: no policy loaded for ${config.policy}`);
  }
  return { config, credentials, policy, verification: s.verification };
}

/**
 * The content hashes of the policies in force, in file order.
 * @example setPolicyHashes(metrics, policyHashes(state))
 */
export function policyHashes(s: GatewayState): string[] {
  return [...s.policies.values()].map((p) => p.hash);
}

/**
 * What must not change without a restart (sockets are bound, the audit file is open); undefined
 * when a reload can apply `b` over `a`.
 * @example restartOnlyChanges(running.config, next) // 'admin address changed'
 */
export function restartOnlyChanges(a: GatewayConfig, b: GatewayConfig): string | undefined {
  const key = (l: ListenerConfig) =>
    `${l.name}@${formatHostPort(l.listen)}/${l.forward.kind === 'http' || l.forward.kind === 'postgres' ? l.forward.kind : 'tcp'}${l.refusal && l.refusal !== 'close' ? `/refusal=${l.refusal}` : ''}`;
  const la = a.listeners.map(key).sort().join(',');
  const lb = b.listeners.map(key).sort().join(',');
  if (la !== lb) return `listeners changed (${la} → ${lb})`;
  if (JSON.stringify(a.admin) !== JSON.stringify(b.admin)) return 'admin address changed';
  if (JSON.stringify(a.adminAuth) !== JSON.stringify(b.adminAuth)) return 'adminAuth changed';
  if (JSON.stringify(a.audit) !== JSON.stringify(b.audit)) return 'audit sink changed';
  if (JSON.stringify(a.limits) !== JSON.stringify(b.limits)) return 'limits changed';
  if (a.workers !== b.workers) return 'workers changed';
  // The provider and the attested key live as long as the process; so does each listener's choice.
  if (JSON.stringify(a.attester ?? null) !== JSON.stringify(b.attester ?? null)) return 'attester changed';
  const attested = (c: GatewayConfig) =>
    c.listeners
      .filter((l) => !l.tls)
      .map((l) => l.name)
      .sort()
      .join(',');
  if (attested(a) !== attested(b)) return 'listeners with tls: attested changed';
  const own = (c: GatewayConfig) => JSON.stringify(c.listeners.map((l) => [l.name, l.limits]).sort());
  if (own(a) !== own(b)) return 'listener limits changed';
  const edges = (c: GatewayConfig) =>
    JSON.stringify(
      c.listeners
        .map((l) => [
          l.name,
          l.connection,
          l.proxyProtocol ?? null,
          l.alpn ?? null,
          l.freshness ?? null,
          l.channelTimeoutMs ?? null,
        ])
        .sort(),
    );
  if (edges(a) !== edges(b)) return 'listener proxyProtocol, alpn, freshness or connection limits changed';
  return undefined;
}
