/**
 * `ratls sim init <dir>` and `ratls sim cert <dir> --out <prefix> …`: a simulated Intel TEE whose
 * evidence runs the real verification path. Its root is trusted only when passed explicitly.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import type { QuoteProvider } from '@ratls/attester';
import { buildRaTlsCertificate, type CertificateFormat, exportPrivateKeyPem, generateKeyPair } from '@ratls/attester';
import { RatlsError } from '@ratls/evidence';
import {
  initSimulation,
  loadNitroSimulation,
  loadSimulation,
  loadSnpSimulation,
  SimulatedNitroProvider,
  SimulatedQuoteProvider,
  SimulatedSnpProvider,
} from '@ratls/sim';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';
import { EXIT_OK, formatRows, parseAt, UsageError } from '../io.js';

const SIM_WARNING = 'SIMULATED TEE: this evidence proves nothing about real hardware. For development and tests only.';

export interface SimCertFlags {
  out: string;
  tee: string;
  mrenclave?: string;
  mrsigner?: string;
  isvprodid?: string;
  isvsvn?: string;
  mrtd?: string;
  rtmr?: string[];
  quoteVersion?: string;
  debug?: boolean;
  tcb: string;
  format: string;
  validity?: string;
  subject?: string;
  san?: string[];
  keyType: string;
  at?: string;
  measurement?: string;
  hostData?: string;
  pcr?: string[];
}

function int(v: string | undefined, what: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d{1,10}$/.test(v)) throw new UsageError('ERR_USAGE', `${what}: expected a non-negative integer, got "${v}"`);
  return Number(v);
}

export function registerSim(program: Command, ctx: CommandContext): void {
  const sim = program.command('sim').description(`simulated TEE for development and tests (${SIM_WARNING})`);
  sim
    .command('init')
    .description('create a simulated Intel hierarchy: root, PCK CA, TCB signer, signed collateral, CRLs')
    .argument('<dir>')
    .option('--at <unix-seconds>', 'start of the collateral window (default: now)')
    .option('--days <n>', 'collateral validity in days', '30')
    .action(async (dir: string, flags: { at?: string; days: string }) => {
      const at = parseAt(flags.at);
      const state = await initSimulation(dir, { at: new Date(at * 1000), collateralDays: int(flags.days, '--days') });
      ctx.err(`WARNING: ${SIM_WARNING}`);
      ctx.out(`simulated TEE created in ${state.dir}`);
      ctx.out(
        formatRows([
          ['root (trust anchor)', `${state.dir}/root.pem`],
          ['SGX collateral', `${state.dir}/collateral.json`],
          ['TDX collateral', `${state.dir}/collateral-tdx.json`],
        ]),
      );
      ctx.exitCode = EXIT_OK;
    });
  sim
    .command('cert')
    .description('issue an RA-TLS certificate and key from the simulated TEE')
    .argument('<dir>')
    .requiredOption('--out <prefix>', 'writes <prefix>.crt and <prefix>.key')
    .option(
      '--tee <sgx|tdx|sev-snp|nitro>',
      'TEE (sev-snp and nitro create <dir>/snp or <dir>/nitro on first use)',
      'sgx',
    )
    .option('--measurement <hex>', 'SEV-SNP MEASUREMENT (48 bytes hex)')
    .option('--host-data <hex>', 'SEV-SNP HOST_DATA (32 bytes hex)')
    .option('--pcr <i=hex>', 'Nitro PCR value, e.g. 0=<96 hex chars> (repeatable)', collect, [])
    .option('--mrenclave <hex>', 'SGX MRENCLAVE (32 bytes hex)')
    .option('--mrsigner <hex>', 'SGX MRSIGNER (32 bytes hex)')
    .option('--isvprodid <n>', 'SGX ISVPRODID')
    .option('--isvsvn <n>', 'SGX ISVSVN')
    .option('--mrtd <hex>', 'TDX MR_TD (48 bytes hex)')
    .option('--rtmr <hex>', 'TDX RTMR0..3 in order (repeatable)', collect, [])
    .option('--quote-version <4|5>', 'TDX quote version')
    .option('--debug', 'debug enclave / TD')
    .option('--tcb <status>', 'TCB status the quote appraises to', 'UpToDate')
    .option('--format <dice|gramine|both>', 'evidence format in the certificate', 'dice')
    .option('--validity <seconds>', 'certificate lifetime', '86400')
    .option('--subject <cn>', 'subject common name', 'ratls-sim')
    .option('--san <name>', 'subject alternative name (repeatable)', collect, [])
    .option('--key-type <P-256|P-384>', 'key type', 'P-256')
    .option('--at <unix-seconds>', 'certificate notBefore reference time (default: now)')
    .action(async (dir: string, flags: SimCertFlags) => {
      ctx.exitCode = await simCert(dir, flags, ctx);
    });
}

function pcrFlags(list: string[] | undefined): Record<number, string> {
  const out: Record<number, string> = {};
  for (const p of list ?? []) {
    const m = /^(\d{1,2})=(?:0x)?([0-9a-fA-F]{96})$/.exec(p);
    if (!m || Number(m[1]) > 15)
      throw new UsageError('ERR_USAGE', `--pcr: expected <0..15>=<96 hex chars>, got "${p}"`);
    out[Number(m[1])] = m[2] as string;
  }
  return out;
}

/** SEV-SNP and Nitro simulators: their own folders under `dir`, created on first use. */
async function otherTeeProvider(dir: string, flags: SimCertFlags, atMs: number | undefined): Promise<QuoteProvider> {
  if (flags.format !== 'dice') throw new UsageError('ERR_USAGE', `--tee ${flags.tee} supports --format dice only`);
  const hex = (v: string | undefined, bytes: number, what: string): string | undefined => {
    if (v !== undefined && !new RegExp(`^(0x)?[0-9a-fA-F]{${bytes * 2}}$`).test(v))
      throw new UsageError('ERR_USAGE', `${what}: expected ${bytes} bytes of hex`);
    return v?.replace(/^0x/, '');
  };
  if (flags.tee === 'sev-snp') {
    const measurement = hex(flags.measurement, 48, '--measurement');
    const hostData = hex(flags.hostData, 32, '--host-data');
    return new SimulatedSnpProvider(await loadSnpSimulation(dir), {
      ...(measurement ? { measurement } : {}),
      ...(hostData ? { hostData } : {}),
      debug: Boolean(flags.debug),
    });
  }
  return SimulatedNitroProvider.create(await loadNitroSimulation(dir), {
    pcrs: pcrFlags(flags.pcr),
    debug: Boolean(flags.debug),
    ...(atMs !== undefined ? { clock: () => atMs } : {}),
  });
}

export async function simCert(dir: string, flags: SimCertFlags, ctx: CommandContext): Promise<number> {
  if (!['sgx', 'tdx', 'sev-snp', 'nitro'].includes(flags.tee))
    throw new UsageError('ERR_USAGE', '--tee must be sgx, tdx, sev-snp or nitro');
  if (!['dice', 'gramine', 'both'].includes(flags.format)) {
    throw new UsageError('ERR_USAGE', '--format must be dice, gramine or both');
  }
  if (flags.keyType !== 'P-256' && flags.keyType !== 'P-384')
    throw new UsageError('ERR_USAGE', '--key-type must be P-256 or P-384');
  const atMs = flags.at !== undefined ? parseAt(flags.at) * 1000 : undefined;
  let provider: QuoteProvider;
  try {
    provider =
      flags.tee === 'sev-snp' || flags.tee === 'nitro'
        ? await otherTeeProvider(dir, flags, atMs)
        : await intelProvider(dir, flags);
  } catch (e) {
    // The library names its own function; a CLI user needs the command that makes the folder.
    if (e instanceof RatlsError && e.code === 'ERR_SIM_STATE')
      throw new UsageError(
        'ERR_SIM_STATE',
        `${dir} is not a simulator folder: create it with \`ratls sim init ${dir}\``,
      );
    throw e;
  }
  return issue(provider, flags, atMs, ctx);
}

async function intelProvider(dir: string, flags: SimCertFlags): Promise<QuoteProvider> {
  const state = await loadSimulation(dir);
  const qv = int(flags.quoteVersion, '--quote-version');
  if (qv !== undefined && qv !== 4 && qv !== 5) throw new UsageError('ERR_USAGE', '--quote-version must be 4 or 5');
  return new SimulatedQuoteProvider(state, {
    ...(flags.mrenclave ? { mrEnclave: flags.mrenclave } : {}),
    ...(flags.mrsigner ? { mrSigner: flags.mrsigner } : {}),
    ...(flags.isvprodid !== undefined ? { isvProdId: int(flags.isvprodid, '--isvprodid') } : {}),
    ...(flags.isvsvn !== undefined ? { isvSvn: int(flags.isvsvn, '--isvsvn') } : {}),
    ...(flags.mrtd ? { mrTd: flags.mrtd } : {}),
    ...(flags.rtmr && flags.rtmr.length ? { rtmr: flags.rtmr } : {}),
    ...(qv !== undefined ? { quoteVersion: qv as 4 | 5 } : {}),
    tee: flags.tee as 'sgx' | 'tdx',
    debug: Boolean(flags.debug),
    tcb: flags.tcb,
  });
}

async function issue(
  provider: QuoteProvider,
  flags: SimCertFlags,
  atMs: number | undefined,
  ctx: CommandContext,
): Promise<number> {
  const keyPair = await generateKeyPair(flags.keyType as 'P-256' | 'P-384');
  const cert = await buildRaTlsCertificate({
    keyPair,
    provider,
    format: flags.format as CertificateFormat,
    subject: flags.subject ?? 'ratls-sim',
    altNames: flags.san && flags.san.length ? flags.san : ['localhost', '127.0.0.1'],
    validitySeconds: int(flags.validity, '--validity') ?? 86400,
    ...(atMs !== undefined ? { clock: () => atMs } : {}),
  });
  writeFileSync(`${flags.out}.crt`, cert.pem);
  // The simulator is not an enclave: the key has to reach disk for curl, openssl and the demo.
  writeFileSync(`${flags.out}.key`, exportPrivateKeyPem(keyPair), { mode: 0o600 });
  chmodSync(`${flags.out}.key`, 0o600);
  ctx.err(`WARNING: ${SIM_WARNING}`);
  ctx.out(
    `wrote ${flags.out}.crt and ${flags.out}.key (${flags.tee}, ${flags.format}${flags.tee === 'sgx' || flags.tee === 'tdx' ? `, TCB ${flags.tcb}` : ''}${flags.debug ? ', DEBUG' : ''})`,
  );
  return EXIT_OK;
}
