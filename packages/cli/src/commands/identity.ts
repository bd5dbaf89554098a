/**
 * `ratls identity --gateway host:port --out PREFIX --policy FILE`: inside the enclave, asks the
 * gateway's identity listener for a short-lived certificate for the enclave's own attested key
 * (docs/identities.md) and writes PREFIX.key (0600), PREFIX.crt (the leaf) and PREFIX.chain.pem
 * (leaf and CA chain), so an unmodified client points `sslcert`/`sslkey` at them. `--kind ear`
 * writes PREFIX.jwt instead. With `--renew` it keeps running and asks again at about 2/3 of each
 * lifetime (the lifetimes are minutes: revocation is by time).
 */
import { resolve } from 'node:path';
import { createAttestedCredentials, createChannelAttester, type QuoteProvider } from '@ratls/attester';
import { toRatlsError } from '@ratls/evidence';
import { createAuditLog, loadPolicyFile } from '@ratls/verifier';
import type { Command } from 'commander';
import type { AttesterConfig } from '../client/config.js';
import { openProvider, SIMULATION_WARNING } from '../client/provider.js';
import { type CommandContext, collect } from '../context.js';
import { listenerAppraiser } from '../gateway/appraiser.js';
import { type GatewayConfig, parseHostPort } from '../gateway/config/config.js';
import { buildTrust } from '../gateway/state.js';
import { type IssuedIdentity, requestIdentity } from '../identity/request-identity.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from '../io.js';
import { writePrivate } from './attest.js';

export interface IdentityFlags {
  gateway: string;
  out: string;
  policy: string;
  kind: string;
  aud?: string;
  servername?: string;
  simulated?: string;
  mrenclave?: string;
  anchor: string[];
  collateral: string[];
  pccs?: string;
  renew?: boolean;
}

/** A failed renewal is retried after this, or sooner when the identity expires sooner. */
const RETRY_MS = 30_000;

/**
 * When to ask again: 2/3 of the way from now to notAfter (at least 1 s from now).
 * @example renewDelayMs(Date.parse('2026-12-02T01:15:00Z'), 0) === 600_000 // notAfter 15 min ahead
 */
export function renewDelayMs(notAfterMs: number, nowMs: number): number {
  return Math.max(1_000, Math.floor(((notAfterMs - nowMs) * 2) / 3));
}

function trustFrom(flags: IdentityFlags): GatewayConfig['trust'] {
  const sim = flags.simulated;
  const anchors = flags.anchor.length ? flags.anchor : sim ? [`${sim}/root.pem`] : undefined;
  if (flags.pccs !== undefined && flags.collateral.length)
    throw new UsageError('ERR_USAGE', 'give --collateral or --pccs, not both');
  const collateral: GatewayConfig['trust']['collateral'] = flags.pccs
    ? { kind: 'pccs', url: flags.pccs }
    : {
        kind: 'files',
        paths: (flags.collateral.length ? flags.collateral : sim ? [`${sim}/collateral.json`] : []).map((p) =>
          resolve(p),
        ),
      };
  if (collateral.kind === 'files' && collateral.paths.length === 0)
    throw new UsageError('ERR_USAGE', 'give --collateral FILE or --pccs URL to appraise the gateway');
  return { anchors: anchors?.map((p) => resolve(p)), collateral };
}

function attesterFrom(flags: IdentityFlags): AttesterConfig {
  if (flags.simulated === undefined) return { kind: 'detect' };
  if (flags.mrenclave !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.mrenclave))
    throw new UsageError('ERR_USAGE', '--mrenclave: expected 32 bytes of hex');
  return {
    kind: 'simulated',
    dir: flags.simulated,
    tee: 'sgx',
    ...(flags.mrenclave ? { mrEnclave: flags.mrenclave.toLowerCase() } : {}),
    debug: false,
  };
}

/**
 * Runs `ratls identity`; resolves with the exit code (with --renew, once SIGTERM/SIGINT arrives).
 * @example ctx.exitCode = await identity({ gateway: 'gw:8444', out: './id', policy: './gw-policy.yaml', kind: 'x509', anchor: [], collateral: [] }, ctx)
 */
export async function identity(flags: IdentityFlags, ctx: CommandContext): Promise<number> {
  const to = parseHostPort(flags.gateway);
  if (!to || to.port === 0) throw new UsageError('ERR_USAGE', '--gateway: expected host:port');
  if (flags.kind !== 'x509' && flags.kind !== 'ear') throw new UsageError('ERR_USAGE', '--kind must be x509 or ear');
  if (flags.kind === 'ear' && !flags.aud) throw new UsageError('ERR_USAGE', '--kind ear needs --aud');
  const kind = flags.kind;
  const trust = trustFrom(flags);
  const attester = attesterFrom(flags);
  let provider: QuoteProvider;
  let ask: () => Promise<IssuedIdentity>;
  let keyPem: () => string;
  let close: () => void;
  try {
    provider = await openProvider(attester);
    if (attester.kind === 'simulated') ctx.err(`WARNING: ${SIMULATION_WARNING}`);
    const policy = await loadPolicyFile(resolve(flags.policy));
    const { verification } = await buildTrust(trust, undefined, {});
    const verifier = listenerAppraiser({
      verification,
      policy: () => policy,
      // The gateway's decision on us is in its audit log; ours on it is in this command's exit.
      audit: createAuditLog({ sink: { callback: () => undefined } }),
      listener: 'identity',
      maxCertificateBytes: 65_536,
      appraisalTimeoutMs: 10_000,
    });
    const creds = await createAttestedCredentials({
      provider,
      validitySeconds: 3600,
      autoRenew: Boolean(flags.renew),
      subject: 'ratls-identity',
    });
    const channelAttester = createChannelAttester({ provider });
    keyPem = () => creds.keyPem;
    close = () => creds.close();
    ask = () =>
      requestIdentity({
        host: to.host,
        port: to.port,
        ...(flags.servername ? { servername: flags.servername } : {}),
        credentials: creds.secureContextOptions(),
        attestation: { verifier, channel: { attester: channelAttester } },
        kind,
        ...(flags.aud ? { aud: flags.aud } : {}),
      });
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const r = toRatlsError(e, 'ERR_IDENTITY_CONFIG', 'config');
    ctx.err(`ratls identity: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }

  /** Writes the key first, then the certificate: a reader that follows the certificate finds its key. */
  const once = async (): Promise<Date> => {
    const key = keyPem();
    const id = await ask();
    if (id.kind === 'ear') {
      writePrivate(`${flags.out}.jwt`, `${id.token}\n`);
      ctx.out(`wrote ${flags.out}.jwt (exp ${id.expiresAt.toISOString()})`);
      return id.expiresAt;
    }
    writePrivate(`${flags.out}.key`, key);
    writePrivate(`${flags.out}.crt`, id.certPem);
    writePrivate(`${flags.out}.chain.pem`, id.chainPem);
    ctx.out(
      `wrote ${flags.out}.crt, ${flags.out}.chain.pem and ${flags.out}.key (notAfter ${id.notAfter.toISOString()})`,
    );
    return id.notAfter;
  };

  let until: Date;
  try {
    until = await once();
  } catch (e) {
    const r = toRatlsError(e, 'ERR_IDENTITY_RESPONSE_INVALID', 'identity');
    ctx.err(`ratls identity: ${r.code}: ${r.message}`);
    close();
    return 1;
  }
  if (!flags.renew) {
    close();
    return EXIT_OK;
  }
  return new Promise<number>((done) => {
    let timer: NodeJS.Timeout;
    const schedule = (ms: number) => {
      timer = setTimeout(() => {
        void once().then(
          (next) => {
            until = next;
            schedule(renewDelayMs(next.getTime(), Date.now()));
          },
          (e) => {
            const r = toRatlsError(e, 'ERR_IDENTITY_RESPONSE_INVALID', 'identity');
            ctx.err(`ratls identity: renewal failed (${r.code}): ${r.message}; retrying`);
            schedule(Math.min(RETRY_MS, Math.max(1_000, (until.getTime() - Date.now()) / 4)));
          },
        );
      }, ms);
    };
    schedule(renewDelayMs(until.getTime(), Date.now()));
    const stop = () => {
      clearTimeout(timer);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      close();
      done(EXIT_OK);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * Adds `identity --gateway host:port --out PREFIX` to the CLI.
 * @example registerIdentity(program, ctx)
 */
export function registerIdentity(program: Command, ctx: CommandContext): void {
  program
    .command('identity')
    .description("get a short-lived identity certificate (or EAR token) for this enclave's key from a gateway")
    .requiredOption('--gateway <host:port>', "the gateway's identity listener")
    .requiredOption('--out <prefix>', 'writes <prefix>.key (0600), <prefix>.crt and <prefix>.chain.pem')
    .requiredOption('--policy <file>', 'the policy the gateway itself must satisfy')
    .option('--kind <x509|ear>', 'a certificate or an EAR token (<prefix>.jwt)', 'x509')
    .option('--aud <audience>', 'EAR: the relying party the token is for')
    .option('--servername <name>', 'TLS server name (SNI)')
    .option('--simulated <dir>', 'a simulated SGX enclave (ratls sim init); development and tests only')
    .option('--mrenclave <hex>', 'simulated SGX MRENCLAVE')
    .option('--anchor <file>', 'trust anchor for the gateway (default with --simulated: <dir>/root.pem)', collect, [])
    .option('--collateral <file>', 'collateral JSON (default with --simulated: <dir>/collateral.json)', collect, [])
    .option('--pccs <url>', 'PCCS for the gateway appraisal, instead of --collateral')
    .option('--renew', 'keep running and ask again at about 2/3 of each lifetime')
    .action(async (flags: IdentityFlags) => {
      ctx.exitCode = await identity(flags, ctx);
    });
}
