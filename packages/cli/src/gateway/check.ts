/**
 * `ratls gateway --check --config F`: validates a configuration the way a start would (every file
 * read, every policy parsed, each listener's key matched to its certificate, trust anchors and
 * collateral parsed) without binding a port or contacting PCCS, like `haproxy -c` and
 * `envoy --mode validate`. Facts that would let the gateway start but not decide well (simulated
 * anchors, collateral or certificates expired or near expiry) are warnings; expired collateral or
 * an expired listener certificate is an error, since every connection would then be refused.
 */
import { X509Certificate } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, toRatlsError } from '@ratls/evidence';
import { trustAnchorFrom } from '@ratls/verifier';
import { openProvider, SIMULATION_WARNING } from '../shared/attester-config.js';
import { formatHostPort, loadGatewayConfig } from './config/config.js';
import { checkIdentity } from './identity-service.js';
import { buildState } from './state.js';

/** Collateral or a certificate closer than this to its end is reported. */
const NEAR_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export interface CheckReport {
  ok: true;
  config: string;
  listeners: Array<{ name: string; listen: string; forward: string; policy: string; policyHash: string }>;
  warnings: string[];
}

function forwardText(f: ReturnType<typeof loadGatewayConfig>['listeners'][number]['forward']): string {
  if (f.kind === 'http') return f.url.toString();
  if (f.kind === 'identity') return 'identity endpoint (issue 15)';
  if (f.kind === 'tcp') return `tcp://${formatHostPort(f)}`;
  if (f.kind === 'postgres')
    return 'path' in f.backend ? `postgres:${f.backend.path}` : `postgres://${formatHostPort(f.backend)}`;
  return `unix:${f.path}`;
}

/**
 * Checks a gateway configuration at time `atMs`; throws a RatlsError (ERR_GATEWAY_CONFIG,
 * ERR_GATEWAY_FILE, ERR_GATEWAY_TLS, ERR_POLICY_INVALID, …) on the first problem.
 * @example const r = await checkGateway('/etc/ratls/gateway.yaml', Date.now()); r.warnings
 */
export async function checkGateway(path: string, atMs: number): Promise<CheckReport> {
  const config = loadGatewayConfig(path);
  const state = await buildState(config, undefined, {});
  const warnings: string[] = [];
  const fail = (code: 'ERR_GATEWAY_TLS' | 'ERR_GATEWAY_COLLATERAL' | 'ERR_GATEWAY_FILE', msg: string) =>
    new ConfigError(code, 'config', msg);

  // --- gateway as an attested server (issue 13) ---
  if (config.attester) {
    const a = config.attester.provider;
    if (a.kind === 'simulated') {
      // The simulation's files are read as a start would read them; no key or quote is made.
      try {
        await openProvider(a);
      } catch (e) {
        throw toRatlsError(e, 'ERR_GATEWAY_FILE', 'config');
      }
      warnings.push(`attester: ${SIMULATION_WARNING}`);
    } else {
      warnings.push(
        `attester: the ${a.kind === 'nitro' ? 'Nitro NSM' : 'detected'} provider is opened at start, not by --check`,
      );
    }
  }
  for (const l of config.listeners) {
    // `tls: attested`: the certificate is made at start from the attester's evidence.
    if (!l.tls) continue;
    const files = l.tls;
    const pem = state.credentials.get(l.name)?.cert ?? '';
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(pem);
    } catch (e) {
      throw fail('ERR_GATEWAY_TLS', `listener ${l.name}: certificate ${files.cert}: ${(e as Error).message}`);
    }
    const end = Date.parse(cert.validTo);
    if (end <= atMs)
      throw fail('ERR_GATEWAY_TLS', `listener ${l.name}: certificate ${files.cert} expired ${cert.validTo}`);
    if (Date.parse(cert.validFrom) > atMs)
      throw fail('ERR_GATEWAY_TLS', `listener ${l.name}: certificate ${files.cert} not valid before ${cert.validFrom}`);
    if (end - atMs < NEAR_EXPIRY_MS) warnings.push(`listener ${l.name}: certificate expires ${cert.validTo}`);
  }

  const anchorFiles = [
    ...(config.trust.anchors ?? []),
    ...(config.trust.snp?.anchors ?? []),
    ...(config.trust.nitro?.anchors ?? []),
  ];
  warnings.push(...simulatedAnchorWarnings(anchorFiles));

  for (const c of state.fileCollateral) {
    const when = new Date(c.nextUpdateMs).toISOString();
    if (c.nextUpdateMs <= atMs)
      throw fail('ERR_GATEWAY_COLLATERAL', `collateral ${c.path} (FMSPC ${c.fmspc}) expired: nextUpdate ${when}`);
    if (c.nextUpdateMs - atMs < NEAR_EXPIRY_MS)
      warnings.push(`collateral ${c.path} (FMSPC ${c.fmspc}) needs refreshing before ${when}`);
  }
  if (config.trust.collateral.kind === 'pccs') {
    warnings.push(`PCCS ${config.trust.collateral.url} not contacted by --check`);
  }

  // Issue 15: the identity authority and EAR keys load as a start would load them.
  if (config.identity) warnings.push(...(await checkIdentity(config.identity, atMs)));

  if (config.audit !== 'stdout') {
    const dir = dirname(config.audit.file);
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw fail('ERR_GATEWAY_FILE', `audit file ${config.audit.file}: folder not writable: ${(e as Error).message}`);
    }
  }

  return {
    ok: true,
    config: config.source,
    listeners: config.listeners.map((l) => ({
      name: l.name,
      listen: formatHostPort(l.listen),
      forward: forwardText(l.forward),
      policy: l.policy,
      policyHash: state.policies.get(l.policy)?.hash ?? '',
    })),
    warnings,
  };
}

/**
 * Reads each trust anchor file (a bad one is `ERR_GATEWAY_FILE`) and names the simulated roots
 * among them: the check of `gateway --check` and `client --check` alike.
 * @example warnings.push(...simulatedAnchorWarnings(['./sim/root.pem']))
 */
export function simulatedAnchorWarnings(files: readonly string[]): string[] {
  const out: string[] = [];
  for (const f of files) {
    let anchor: ReturnType<typeof trustAnchorFrom>;
    try {
      anchor = trustAnchorFrom(readFileSync(f, 'utf8'));
    } catch (e) {
      throw toRatlsError(e, 'ERR_GATEWAY_FILE', 'config');
    }
    if (anchor.simulated) out.push(`trust anchor ${f} is a SIMULATED root: never use it in production`);
  }
  return out;
}
