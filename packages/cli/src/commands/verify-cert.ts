/**
 * `ratls verify-cert <cert> [--collateral <file> | --pccs <url>] [--snp-vcek <file>] [--snp-chain <file>]
 * [--snp-ark <pem>]… [--kds <url>] [--product <p>] [--nitro-root <pem>]… [--at] [--trust-anchor <pem>]… [--json]`
 * DCAP collateral is required only when the certificate carries an SGX or TDX quote.
 */

import { parseRatlsCertificate } from '@ratls/evidence';
import {
  type CertificateVerification,
  certificateDer,
  type SnpAppraisalOptions,
  verifyCertificate,
} from '@ratls/verifier';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { collect } from '../context.js';
import {
  EXIT_OK,
  EXIT_REFUSED,
  errorJson,
  formatRows,
  loadCollateralSource,
  loadOptionalAnchors,
  loadSnpFlags,
  loadTrustAnchors,
  parseAt,
  readInputFile,
} from '../io.js';
import { describeResult, type VerifyFlags, verificationOptions } from './verify-quote.js';

export interface CertFlags extends VerifyFlags {
  ca?: string[];
  snpVcek?: string;
  snpChain?: string;
  snpArk?: string[];
  kds?: string;
  kdsCacheDir?: string;
  product?: string;
  nitroRoot?: string[];
}

/** Adds the options every certificate-verifying command shares. */
export function certOptions(cmd: Command): Command {
  return verificationOptions(cmd)
    .option(
      '--ca <pem>',
      'the certificate must be issued by this CA instead of being self-signed (repeatable)',
      collect,
      [],
    )
    .option('--snp-vcek <file>', 'SEV-SNP: VCEK or VLEK (default: from the certificate, then KDS)')
    .option('--snp-chain <file>', 'SEV-SNP: KDS cert_chain PEM, ASK then ARK (default: from the certificate)');
}

/** True when the certificate carries a DCAP quote (so collateral flags are required). */
function needsDcapCollateral(cert: Uint8Array): boolean {
  try {
    return parseRatlsCertificate(certificateDer(cert)).evidence.some((e) => e.tee === 'sgx' || e.tee === 'tdx');
  } catch {
    // Unparseable: verifyCertificate reports why; collateral is not the problem.
    return false;
  }
}

export function registerVerifyCert(program: Command, ctx: CommandContext): void {
  certOptions(
    program
      .command('verify-cert')
      .description('verify an RA-TLS certificate: X.509, evidence binding, and the quote against collateral')
      .argument('<cert>', 'certificate, PEM or DER'),
  ).action(async (file: string, flags: CertFlags) => {
    ctx.exitCode = await verifyCertCommand(file, flags, ctx);
  });
}

/** Reads and verifies a certificate with the shared flags; throws RatlsError on refusal. */
export async function verifyCertFromFlags(
  file: string,
  flags: CertFlags,
  ctx: CommandContext,
): Promise<{ at: number; verification: CertificateVerification }> {
  const at = parseAt(flags.at);
  const cert = readInputFile(file, 'certificate');
  const trustAnchors = loadTrustAnchors(flags.trustAnchor, ctx.err);
  const hasCollateralFlags = (flags.collateral?.length ?? 0) > 0 || flags.pccs !== undefined;
  const collateralSource = hasCollateralFlags || needsDcapCollateral(cert) ? loadCollateralSource(flags) : undefined;
  const certificateAuthorities = (flags.ca ?? []).map((p) => readInputFile(p, 'CA certificate'));
  const snpInputs = loadSnpFlags({
    ...(flags.snpVcek ? { vcek: flags.snpVcek } : {}),
    ...(flags.snpChain ? { chain: flags.snpChain } : {}),
    ...(flags.kds ? { kds: flags.kds } : {}),
    ...(flags.kdsCacheDir ? { kdsCacheDir: flags.kdsCacheDir } : {}),
    ...(flags.product ? { product: flags.product } : {}),
    ...(flags.collateral ? { collateral: flags.collateral } : {}),
  });
  const snpArks = loadOptionalAnchors(flags.snpArk, ctx.err);
  const snp: SnpAppraisalOptions = { ...snpInputs, ...(snpArks ? { trustAnchors: snpArks } : {}) };
  const nitroRoots = loadOptionalAnchors(flags.nitroRoot, ctx.err);
  const verification = await verifyCertificate(cert, {
    at,
    trustAnchors,
    ...(collateralSource ? { collateralSource } : {}),
    snp,
    ...(nitroRoots ? { nitroTrustAnchors: nitroRoots } : {}),
    ...(certificateAuthorities.length ? { certificateAuthorities } : {}),
  });
  return { at, verification };
}

export async function verifyCertCommand(file: string, flags: CertFlags, ctx: CommandContext): Promise<number> {
  try {
    const { at, verification: v } = await verifyCertFromFlags(file, flags, ctx);
    if (flags.json) {
      ctx.out(JSON.stringify({ ok: true, ...v.result, certificate: v.certificate, binding: v.binding }));
    } else {
      ctx.out(describeResult(v.result, at));
      ctx.out(
        `certificate\n${formatRows([
          ['subject', v.certificate.subject],
          ['SHA-256', v.certificate.fingerprintSha256],
          [
            'validity',
            `${new Date(v.certificate.notBefore * 1000).toISOString()} .. ${new Date(v.certificate.notAfter * 1000).toISOString()}`,
          ],
          ['formats', v.certificate.formats.join(', ')],
          ['binding', `holds (${v.binding.rules.join(', ')})`],
        ])}`,
      );
    }
    return EXIT_OK;
  } catch (e) {
    const err = errorJson(e);
    if (err.step === 'usage') throw e;
    if (flags.json) ctx.out(JSON.stringify({ ok: false, error: err }));
    else ctx.err(`refused: ${err.code} (${err.step}): ${err.message}`);
    return EXIT_REFUSED;
  }
}
