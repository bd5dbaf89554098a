/**
 * `ratls verify-quote <evidence-file> [--at <unix-seconds>] [--json]` with, by kind (detected):
 * DCAP quote `--collateral <file> | --pccs <url>`; SEV-SNP report `--vcek <file> --chain <file> |
 * --kds <url>`, `--product`; Nitro document (binary, hex or base64) `--nitro-root <pem>`.
 */

import { type AttestationResult, createQuoteVerifier, verifyNitroDocument, verifySnpReport } from '@ratls/verifier';
import type { Command } from 'commander';
import { type CommandContext, collect } from '../context.js';
import {
  type CollateralFlags,
  type EvidenceKind,
  EXIT_OK,
  EXIT_REFUSED,
  errorJson,
  formatRows,
  loadCollateralSource,
  loadOptionalAnchors,
  loadSnpFlags,
  loadTrustAnchors,
  parseAt,
  readEvidenceFile,
  type SnpFlags,
  UsageError,
} from '../io.js';

export interface VerifyFlags extends CollateralFlags {
  at?: string;
  json?: boolean;
  trustAnchor?: string[];
}

export interface VerifyQuoteFlags extends VerifyFlags, SnpFlags {
  kind?: string;
  snpArk?: string[];
  nitroRoot?: string[];
}

/**
 * The options every verifying command shares: DCAP collateral and anchors, SEV-SNP and Nitro roots,
 * time and output.
 */
export function verificationOptions(cmd: Command): Command {
  return cmd
    .option(
      '--collateral <file>',
      'QuoteCollateralV3 JSON (repeatable; picked by TEE and FMSPC), or one offline bundle directory (ratls collateral fetch)',
      collect,
      [],
    )
    .option('--pccs <url>', 'Intel PCS/PCCS base URL')
    .option('--pccs-cache-dir <dir>', 'on-disk cache for PCCS collateral')
    .option('--at <unix-seconds>', 'verification time (default: now)')
    .option(
      '--trust-anchor <pem>',
      'root certificate to trust instead of the Intel SGX Root CA (repeatable)',
      collect,
      [],
    )
    .option('--snp-ark <pem>', 'SEV-SNP: ARK to trust instead of the built-in AMD ARKs (repeatable)', collect, [])
    .option('--kds <url>', 'SEV-SNP: AMD KDS base URL for a missing VCEK or chain')
    .option('--kds-cache-dir <dir>', 'SEV-SNP: on-disk cache for KDS certificates')
    .option('--product <Milan|Genoa|Turin>', 'SEV-SNP: product line')
    .option('--nitro-root <pem>', 'Nitro: root to trust instead of the AWS Nitro root G1 (repeatable)', collect, [])
    .option('--json', 'print one JSON object');
}

export function registerVerifyQuote(program: Command, ctx: CommandContext): void {
  const cmd = program
    .command('verify-quote')
    .description(
      'verify a DCAP quote (SGX v3, TDX v4/v5), an SEV-SNP report or a Nitro attestation document at a point in time',
    )
    .argument('<quote-file>', 'evidence: binary, hex text with or without 0x, or base64 (Nitro)')
    .option('--kind <dcap|sev-snp|nitro>', 'evidence kind (default: detected)')
    .option('--vcek <file>', 'SEV-SNP: VCEK or VLEK certificate, DER or PEM')
    .option('--chain <file>', 'SEV-SNP: KDS cert_chain PEM (ASK then ARK)');
  verificationOptions(cmd).action(async (file: string, flags: VerifyQuoteFlags) => {
    ctx.exitCode = await verifyQuoteCommand(file, flags, ctx);
  });
}

const KINDS: readonly EvidenceKind[] = ['dcap', 'sev-snp', 'nitro'];

/** Reads the inputs the evidence kind needs (usage errors exit 2) and returns the appraisal to run. */
function appraiser(
  kind: EvidenceKind,
  evidence: Uint8Array,
  flags: VerifyQuoteFlags,
  at: number,
  ctx: CommandContext,
): () => Promise<AttestationResult> {
  if (kind === 'sev-snp') {
    const snp = loadSnpFlags(flags);
    const anchors = loadOptionalAnchors(flags.snpArk, ctx.err);
    return () => verifySnpReport(evidence, { at, ...snp, ...(anchors ? { trustAnchors: anchors } : {}) });
  }
  if (kind === 'nitro') {
    const anchors = loadOptionalAnchors(flags.nitroRoot, ctx.err);
    return () => verifyNitroDocument(evidence, { at, ...(anchors ? { trustAnchors: anchors } : {}) });
  }
  const trustAnchors = loadTrustAnchors(flags.trustAnchor, ctx.err);
  const collateralSource = loadCollateralSource(flags);
  return () => createQuoteVerifier({ collateralSource, trustAnchors }).verify(evidence, { at });
}

export async function verifyQuoteCommand(file: string, flags: VerifyQuoteFlags, ctx: CommandContext): Promise<number> {
  const at = parseAt(flags.at);
  if (flags.kind !== undefined && !KINDS.includes(flags.kind as EvidenceKind)) {
    throw new UsageError('ERR_USAGE', `--kind must be dcap, sev-snp or nitro, got "${flags.kind}"`);
  }
  const read = readEvidenceFile(file);
  const kind = (flags.kind as EvidenceKind | undefined) ?? read.kind;
  const run = appraiser(kind, read.bytes, flags, at, ctx);
  try {
    const result = await run();
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
