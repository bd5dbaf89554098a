/**
 * `ratls collateral fetch --out <dir> (--fmspc <hex> … [--pccs <url>] | --snp-chip <hex> --product <P>
 * --snp-tcb <bl:tee:snp:ucode[:fmc]> [--kds <url>])`: writes an offline bundle that an air-gapped
 * `ratls verify-quote … --collateral <dir>` reads. The bundle is fetched and shape-checked here; it
 * is verified (signatures, chains, dates) where it is used.
 */
import { mkdirSync } from 'node:fs';
import type { SnpProduct } from '@ratls/evidence';
import {
  AMD_KDS_URL,
  type CollateralRequest,
  KdsCollateralSource,
  PccsCollateralSource,
  writeBundleManifest,
} from '@ratls/verifier';
import type { Command } from 'commander';
import { type CommandContext, collect } from '../context.js';
import { EXIT_OK, EXIT_REFUSED, errorJson, UsageError } from '../io.js';

/** Intel's public PCS, the default when no PCCS is named. */
const INTEL_PCS = 'https://api.trustedservices.intel.com';
const PRODUCTS: SnpProduct[] = ['Milan', 'Genoa', 'Turin'];

export interface CollateralFetchFlags {
  out: string;
  fmspc: string[];
  tee: string;
  pckCa: string;
  pccs?: string;
  snpChip: string[];
  product?: string;
  snpTcb?: string;
  kds?: string;
  timeoutMs: string;
}

function dcapRequests(f: CollateralFetchFlags): CollateralRequest[] {
  if (f.tee !== 'sgx' && f.tee !== 'tdx') throw new UsageError('ERR_USAGE', `--tee must be sgx or tdx, got "${f.tee}"`);
  const cas = f.pckCa === 'both' ? (['platform', 'processor'] as const) : [f.pckCa];
  for (const ca of cas)
    if (ca !== 'platform' && ca !== 'processor')
      throw new UsageError('ERR_USAGE', `--pck-ca must be platform, processor or both, got "${f.pckCa}"`);
  return f.fmspc.flatMap((fmspc) => {
    if (!/^[0-9a-fA-F]{12}$/.test(fmspc)) throw new UsageError('ERR_USAGE', `--fmspc: 6 bytes of hex, got "${fmspc}"`);
    return cas.map((pckCa) => ({
      tee: f.tee as 'sgx' | 'tdx',
      fmspc: fmspc.toLowerCase(),
      pckCa: pckCa as 'platform',
    }));
  });
}

function snpTcb(v: string | undefined) {
  const m = /^(\d{1,3}):(\d{1,3}):(\d{1,3}):(\d{1,3})(?::(\d{1,3}))?$/.exec(v ?? '');
  if (!m) throw new UsageError('ERR_USAGE', '--snp-tcb: expected bootloader:tee:snp:microcode[:fmc] (decimal SPLs)');
  const n = (i: number) => Number(m[i]);
  return {
    bootloader: n(1),
    tee: n(2),
    snp: n(3),
    microcode: n(4),
    ...(m[5] !== undefined ? { fmc: n(5) } : {}),
    raw: new Uint8Array(8),
  };
}

/**
 * Fetches DCAP and/or SEV-SNP collateral into a bundle directory.
 * @example await collateralFetch({ out: 'bundle', fmspc: ['00606a000000'], tee: 'sgx', pckCa: 'both', snpChip: [], timeoutMs: '10000' }, ctx)
 */
export async function collateralFetch(f: CollateralFetchFlags, ctx: CommandContext): Promise<number> {
  const timeoutMs = Number(f.timeoutMs);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new UsageError('ERR_USAGE', '--timeout-ms: positive number');
  const dcap = dcapRequests(f);
  if (dcap.length === 0 && f.snpChip.length === 0)
    throw new UsageError('ERR_USAGE', 'nothing to fetch: give --fmspc and/or --snp-chip');
  for (const u of [f.pccs, f.kds])
    if (u !== undefined && !/^https?:\/\//.test(u))
      throw new UsageError('ERR_USAGE', `expected an http(s) URL, got "${u}"`);
  mkdirSync(f.out, { recursive: true, mode: 0o755 });
  const contents: string[] = [];
  try {
    if (dcap.length > 0) {
      const pccs = new PccsCollateralSource(f.pccs ?? INTEL_PCS, {
        cacheDir: f.out,
        timeoutMs,
        ...(f.pccs ? {} : { rootCaCrlUrl: 'https://certificates.trustedservices.intel.com/IntelSGXRootCA.der' }),
      });
      for (const req of dcap) {
        await pccs.getCollateral(req);
        contents.push(`${req.tee} fmspc ${req.fmspc} ${req.pckCa} CA`);
        ctx.out(`fetched ${req.tee} ${req.fmspc} (${req.pckCa} CA)`);
      }
    }
    if (f.snpChip.length > 0) {
      const product = PRODUCTS.find((p) => p.toLowerCase() === f.product?.toLowerCase());
      if (!product) throw new UsageError('ERR_USAGE', '--product Milan|Genoa|Turin is required with --snp-chip');
      const tcb = snpTcb(f.snpTcb);
      // Bundles are written once, by hand: no need to space VCEK requests beyond KDS's own limit.
      const kds = new KdsCollateralSource(f.kds ?? AMD_KDS_URL, { cacheDir: f.out, timeoutMs });
      await kds.getCertChain(product, 'vcek');
      for (const chip of f.snpChip) {
        if (!/^[0-9a-fA-F]{128}$/.test(chip))
          throw new UsageError('ERR_USAGE', '--snp-chip: 64 bytes of hex (CHIP_ID)');
        await kds.getVcek({ product, chipId: new Uint8Array(Buffer.from(chip, 'hex')), tcb });
        contents.push(`snp ${product} chip ${chip.slice(0, 16)}… vcek`);
        ctx.out(`fetched VCEK ${product} ${chip.slice(0, 16)}…`);
      }
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    ctx.err(`collateral fetch failed: ${errorJson(e).code}: ${errorJson(e).message}`);
    return EXIT_REFUSED;
  }
  writeBundleManifest(
    f.out,
    { ...(f.snpChip.length > 0 ? { kdsUrl: f.kds ?? AMD_KDS_URL } : {}), contents },
    new Date(),
  );
  ctx.out(`bundle written to ${f.out}: verify offline with --collateral ${f.out}`);
  return EXIT_OK;
}

export function registerCollateral(program: Command, ctx: CommandContext): void {
  const c = program.command('collateral').description('collateral for offline (air-gapped) verification');
  c.command('fetch')
    .description('fetch DCAP collateral (PCS/PCCS) and/or SEV-SNP VCEKs (AMD KDS) into a bundle directory')
    .requiredOption('--out <dir>', 'bundle directory')
    .option('--fmspc <hex>', 'DCAP: FMSPC to fetch (repeatable)', collect, [])
    .option('--tee <sgx|tdx>', 'DCAP: TEE of the FMSPCs', 'sgx')
    .option('--pck-ca <platform|processor|both>', 'DCAP: PCK CA of the platforms', 'both')
    .option('--pccs <url>', 'DCAP: PCCS base URL (default: Intel PCS)')
    .option('--snp-chip <hex>', 'SEV-SNP: CHIP_ID (repeatable)', collect, [])
    .option('--product <Milan|Genoa|Turin>', 'SEV-SNP: product line')
    .option('--snp-tcb <bl:tee:snp:ucode[:fmc]>', 'SEV-SNP: REPORTED_TCB SPLs of the VCEK')
    .option('--kds <url>', 'SEV-SNP: AMD KDS base URL (default: AMD)')
    .option('--timeout-ms <ms>', 'per request', '10000')
    .action(async (flags: CollateralFetchFlags) => {
      ctx.exitCode = await collateralFetch(flags, ctx);
    });
}
