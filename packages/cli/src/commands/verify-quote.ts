/** `ratls verify-quote <quote-file> (--collateral <file> | --pccs <url>) [--at <unix-seconds>] [--json]` */
import type { Command } from 'commander';
import { type AttestationResult, createQuoteVerifier } from '@ratls/verifier';
import {
  EXIT_OK,
  EXIT_REFUSED,
  type CollateralFlags,
  errorJson,
  formatRows,
  loadCollateralSource,
  loadTrustAnchors,
  parseAt,
  readQuoteFile,
} from '../io.js';
import { type CommandContext, collect } from '../context.js';

export interface VerifyFlags extends CollateralFlags {
  at?: string;
  json?: boolean;
  trustAnchor?: string[];
}

export function registerVerifyQuote(program: Command, ctx: CommandContext): void {
  program
    .command('verify-quote')
    .description('verify a DCAP quote (SGX v3, TDX v4/v5) against collateral at a point in time')
    .argument('<quote-file>', 'quote: binary, or hex text with or without 0x')
    .option('--collateral <file>', 'QuoteCollateralV3 JSON (repeatable; picked by TEE and FMSPC)', collect, [])
    .option('--pccs <url>', 'Intel PCS/PCCS base URL')
    .option('--pccs-cache-dir <dir>', 'on-disk cache for PCCS collateral')
    .option('--at <unix-seconds>', 'verification time (default: now)')
    .option(
      '--trust-anchor <pem>',
      'root certificate to trust instead of the Intel SGX Root CA (repeatable)',
      collect,
      [],
    )
    .option('--json', 'print one JSON object')
    .action(async (file: string, flags: VerifyFlags) => {
      ctx.exitCode = await verifyQuoteCommand(file, flags, ctx);
    });
}

export async function verifyQuoteCommand(file: string, flags: VerifyFlags, ctx: CommandContext): Promise<number> {
  const at = parseAt(flags.at);
  const quote = readQuoteFile(file);
  const trustAnchors = loadTrustAnchors(flags.trustAnchor, ctx.err);
  const collateralSource = loadCollateralSource(flags);
  try {
    const result = await createQuoteVerifier({ collateralSource, trustAnchors }).verify(quote, { at });
    if (flags.json) ctx.out(JSON.stringify({ ok: true, ...result }));
    else ctx.out(describeResult(result, at));
    return EXIT_OK;
  } catch (e) {
    if (flags.json) ctx.out(JSON.stringify({ ok: false, error: errorJson(e) }));
    else ctx.err(`refused: ${errorJson(e).code} (${errorJson(e).step}): ${errorJson(e).message}`);
    return EXIT_REFUSED;
  }
}

/** A readable multi-line summary of a verified result. */
export function describeResult(r: AttestationResult, at: number): string {
  const head: Array<[string, string | number | boolean | undefined]> = [
    ['TEE', r.tee + (r.simulated ? '  (SIMULATED: not real hardware)' : '')],
    ['verified at', new Date(at * 1000).toISOString()],
    ['debug', r.debug],
    [
      'collateral window',
      `${new Date(r.collateralWindow.notBefore * 1000).toISOString()} .. ${new Date(r.collateralWindow.notAfter * 1000).toISOString()}`,
    ],
  ];
  if (r.tee === 'sgx' || r.tee === 'tdx') {
    head.push(['quote version', r.quoteVersion], ['FMSPC', r.fmspc], ['TCB status', r.tcbStatus]);
    head.push(['  platform', r.platformTcbStatus], ['  QE', r.qeTcbStatus]);
    if (r.tee === 'tdx')
      head.push(['  TDX module', `${r.tdxModuleTcbStatus}${r.tdxModuleId ? ` (${r.tdxModuleId})` : ''}`]);
    head.push(['advisories', r.advisoryIds.length ? r.advisoryIds.join(', ') : 'none']);
  }
  const m = Object.entries(r.measurements as unknown as Record<string, unknown>).map(
    ([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)] as [string, string],
  );
  return `verified\n${formatRows(head)}\nmeasurements\n${formatRows(m)}`;
}
