/**
 * `ratls attest --out PREFIX`: writes `PREFIX.crt` and `PREFIX.key` (both mode 0600) from the
 * detected TEE (or `--simulated DIR`), for programs that only take certificate files. With
 * `--renew` it keeps running and rewrites both files with a new key before each expiry.
 * Warns when the key lands outside the TEE-protected paths (client/key-location.ts).
 */
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { type AttestedCredentials, createAttestedCredentials, type QuoteProvider } from '@ratls/attester';
import { ConfigError, toRatlsError } from '@ratls/evidence';
import type { Command } from 'commander';
import type { AttesterConfig } from '../client/config.js';
import { keyLocationWarning } from '../client/key-location.js';
import { openProvider, SIMULATION_WARNING } from '../client/provider.js';
import { type CommandContext, collect } from '../context.js';
import { EXIT_OK, EXIT_USAGE, UsageError } from '../io.js';

export interface AttestFlags {
  out: string;
  simulated?: string;
  tee: string;
  mrenclave?: string;
  nitro?: boolean;
  renew?: boolean;
  validity: string;
  protected: string[];
}

/**
 * Writes `text` to `path` atomically (a reader sees the old file or the new one), mode 0600.
 * @example writePrivate('/run/secrets/app.key', keyPem)
 */
export function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'w' });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (e) {
    throw new ConfigError('ERR_ATTEST_WRITE', 'config', `cannot write ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Writes the current credentials: the key first, then the certificate, so a program that reloads
 * on the certificate's change finds the matching key already in place.
 * @example writeCredentialFiles(creds, '/run/secrets/app')
 */
export function writeCredentialFiles(c: Pick<AttestedCredentials, 'keyPem' | 'cert'>, prefix: string): void {
  writePrivate(`${prefix}.key`, c.keyPem);
  writePrivate(`${prefix}.crt`, c.cert);
}

function attesterFrom(flags: AttestFlags): AttesterConfig {
  if (flags.simulated !== undefined && flags.nitro)
    throw new UsageError('ERR_USAGE', 'give --simulated or --nitro, not both');
  if (flags.simulated === undefined) return flags.nitro ? { kind: 'nitro' } : { kind: 'detect' };
  if (!['sgx', 'tdx', 'sev-snp', 'nitro'].includes(flags.tee))
    throw new UsageError('ERR_USAGE', '--tee must be sgx, tdx, sev-snp or nitro');
  if (flags.mrenclave !== undefined && !/^[0-9a-fA-F]{64}$/.test(flags.mrenclave))
    throw new UsageError('ERR_USAGE', '--mrenclave: expected 32 bytes of hex');
  return {
    kind: 'simulated',
    dir: flags.simulated,
    tee: flags.tee as 'sgx' | 'tdx' | 'sev-snp' | 'nitro',
    ...(flags.mrenclave ? { mrEnclave: flags.mrenclave.toLowerCase() } : {}),
    debug: false,
  };
}

/**
 * Runs `ratls attest`; resolves with the exit code (with --renew, once SIGTERM/SIGINT arrives).
 * @example ctx.exitCode = await attest({ out: './app', tee: 'sgx', validity: '3600', protected: [] }, ctx)
 */
export async function attest(flags: AttestFlags, ctx: CommandContext): Promise<number> {
  if (!/^\d{1,7}$/.test(flags.validity) || Number(flags.validity) < 2)
    throw new UsageError('ERR_USAGE', '--validity: expected seconds, at least 2');
  const attester = attesterFrom(flags);
  let provider: QuoteProvider;
  let creds: AttestedCredentials;
  try {
    provider = await openProvider(attester);
    if (attester.kind === 'simulated') ctx.err(`WARNING: ${SIMULATION_WARNING}`);
    const warning = keyLocationWarning(`${flags.out}.key`, provider.tee, flags.protected);
    if (warning) ctx.err(`WARNING: the private key is written outside the TEE: ${warning}`);
    creds = await createAttestedCredentials({
      provider,
      validitySeconds: Number(flags.validity),
      autoRenew: Boolean(flags.renew),
      subject: 'ratls-attest',
    });
    writeCredentialFiles(creds, flags.out);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const r = toRatlsError(e, 'ERR_ATTEST_WRITE', 'config');
    ctx.err(`ratls attest: ${r.code}: ${r.message}`);
    return EXIT_USAGE;
  }
  const said = (c: AttestedCredentials) =>
    `wrote ${flags.out}.crt and ${flags.out}.key (${provider.name}, notAfter ${c.notAfter.toISOString()})`;
  ctx.out(said(creds));
  if (!flags.renew) {
    creds.close();
    return EXIT_OK;
  }
  return new Promise<number>((resolve) => {
    const c = creds;
    c.on('renewed', () => {
      try {
        writeCredentialFiles(c, flags.out);
        ctx.out(said(c));
      } catch (e) {
        ctx.err(`ratls attest: ${toRatlsError(e, 'ERR_ATTEST_WRITE', 'config').message}`);
      }
    });
    c.on('error', (e) => ctx.err(`ratls attest: renewal failed (${e.code}): ${e.message}; retrying`));
    // Keeps the process alive between renewals (the renewal timer itself is unref'd).
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const stop = () => {
      clearInterval(keepAlive);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      c.close();
      resolve(EXIT_OK);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}

/**
 * Adds `attest --out PREFIX` to the CLI.
 * @example registerAttest(program, ctx)
 */
export function registerAttest(program: Command, ctx: CommandContext): void {
  program
    .command('attest')
    .description('write an attested certificate and key (0600) from the TEE for programs that take files')
    .requiredOption('--out <prefix>', 'writes <prefix>.crt and <prefix>.key')
    .option('--simulated <dir>', 'a simulated TEE (ratls sim init); development and tests only')
    .option('--tee <sgx|tdx|sev-snp|nitro>', 'TEE of the simulation', 'sgx')
    .option('--mrenclave <hex>', 'simulated SGX MRENCLAVE')
    .option('--nitro', 'use the Nitro Secure Module (/dev/nsm) instead of detecting')
    .option('--renew', 'keep running and rewrite both files with a new key before each expiry')
    .option('--validity <seconds>', 'certificate lifetime', '3600')
    .option(
      '--protected <dir>',
      'a TEE-protected directory (Gramine encrypted mount, encrypted disk); repeatable',
      collect,
      [],
    )
    .action(async (flags: AttestFlags) => {
      ctx.exitCode = await attest(flags, ctx);
    });
}
