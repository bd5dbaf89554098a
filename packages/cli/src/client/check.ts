/**
 * `ratls client --check --config F`: validates a client configuration the way a start would (the
 * YAML with its located errors, the attester's provider opened — for the simulator its state
 * folder read —, every server policy parsed, CA files usable, trust anchors and collateral read)
 * without binding a listener, connecting to a server or asking for a quote. As for the gateway
 * (gateway/check.ts): simulated anchors and collateral near its nextUpdate are warnings, collateral
 * past it is an error, since every attested server would then be refused.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError, toRatlsError } from '@ratls/evidence';
import type { CommandContext } from '../context.js';
import { simulatedAnchorWarnings } from '../gateway/check.js';
import { formatHostPort } from '../gateway/config/config.js';
import { EXIT_OK, EXIT_USAGE } from '../io.js';
import { buildClientState } from './client.js';
import { type LocalAddress, loadClientConfig } from './config.js';
import { openProvider } from './provider.js';

/** Collateral closer than this to its nextUpdate is reported. */
const NEAR_EXPIRY_MS = 7 * 24 * 3600 * 1000;

export interface ClientCheckReport {
  ok: true;
  config: string;
  attester: string;
  listeners: Array<{ name: string; listen: string; connect: string; verify: string }>;
  warnings: string[];
}

function localText(a: LocalAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : formatHostPort(a);
}

/**
 * Checks a client configuration at time `atMs`; throws a RatlsError (ERR_CLIENT_CONFIG,
 * ERR_GATEWAY_FILE, ERR_POLICY_INVALID, ERR_GATEWAY_COLLATERAL, a provider's code, …) on the
 * first problem.
 * @example const r = await checkClient('/etc/ratls/client.yaml', Date.now()); r.warnings
 */
export async function checkClient(path: string, atMs: number): Promise<ClientCheckReport> {
  const config = loadClientConfig(path);
  const provider = await openProvider(config.attester);
  const state = await buildClientState(config, undefined, {});
  const warnings: string[] = [];
  if (config.attester.kind === 'simulated')
    warnings.push(`attester is the ratls SIMULATOR (${config.attester.dir}): no real TEE; never in production`);

  const trust = config.trust;
  const anchorFiles = trust
    ? [...(trust.anchors ?? []), ...(trust.snp?.anchors ?? []), ...(trust.nitro?.anchors ?? [])]
    : [];
  warnings.push(...simulatedAnchorWarnings(anchorFiles));
  for (const c of state.trust?.fileCollateral ?? []) {
    const when = new Date(c.nextUpdateMs).toISOString();
    if (c.nextUpdateMs <= atMs)
      throw new ConfigError(
        'ERR_GATEWAY_COLLATERAL',
        'config',
        `collateral ${c.path} (FMSPC ${c.fmspc}) expired: nextUpdate ${when}`,
      );
    if (c.nextUpdateMs - atMs < NEAR_EXPIRY_MS)
      warnings.push(`collateral ${c.path} (FMSPC ${c.fmspc}) needs refreshing before ${when}`);
  }
  if (trust?.collateral.kind === 'pccs') warnings.push(`PCCS ${trust.collateral.url} not contacted by --check`);

  if (config.audit !== 'stdout') {
    const dir = dirname(config.audit.file);
    try {
      if (!statSync(dir).isDirectory()) throw new Error('not a directory');
      accessSync(dir, constants.W_OK);
    } catch (e) {
      throw new ConfigError(
        'ERR_GATEWAY_FILE',
        'config',
        `audit file ${config.audit.file}: folder not writable: ${(e as Error).message}`,
      );
    }
  }

  return {
    ok: true,
    config: config.source,
    attester: provider.name,
    listeners: config.listeners.map((l) => ({
      name: l.name,
      listen: localText(l.listen),
      connect: formatHostPort(l.connect),
      verify: l.verify.kind === 'attested' ? `policy ${l.verify.policy}` : `ca ${l.verify.ca}`,
    })),
    warnings,
  };
}

/**
 * Runs the check and prints it (human lines, or one JSON object on stdout); returns 0 valid
 * (warnings allowed) or 2 invalid.
 * @example process.exitCode = await runClientCheck('/etc/ratls/client.yaml', ctx, true)
 */
export async function runClientCheck(config: string, ctx: CommandContext, json: boolean): Promise<number> {
  try {
    const r = await checkClient(config, Date.now());
    if (json) ctx.out(JSON.stringify(r));
    else {
      ctx.out(`${r.config}: client configuration OK, ${r.listeners.length} listener(s); no listener was bound`);
      for (const l of r.listeners) ctx.out(`  ${l.name}  ${l.listen} → ${l.connect}  ${l.verify}`);
      for (const w of r.warnings) ctx.err(`warning: ${w}`);
    }
    return EXIT_OK;
  } catch (e) {
    const r = toRatlsError(e, 'ERR_CLIENT_CONFIG', 'config');
    if (json) ctx.out(JSON.stringify({ ok: false, error: { code: r.code, step: r.step, message: r.message } }));
    else ctx.err(`ratls client --check: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }
}
