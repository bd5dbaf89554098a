/**
 * `ratls policy identity --from <artifact> [--name N]`: a ready identity block from a build
 * artifact (SGX SIGSTRUCT, nitro-cli describe-eif/build-enclave JSON, TDX/SNP measurement tool
 * JSON) or from what an RA-TLS
 * certificate measured (verified first, with the same flags as `ratls verify-cert`).
 */
import { RatlsError } from '@ratls/evidence';
import type { Command } from 'commander';
import { parseEifJson } from '../artifacts/eif.js';
import {
  type IdentityBlock,
  identityFromEif,
  identityFromResult,
  identityFromSigstruct,
  identityFromTool,
  renderIdentity,
} from '../artifacts/identity.js';
import { parseMeasurementJson } from '../artifacts/measurement-json.js';
import { isSigstruct, parseSigstruct } from '../artifacts/sigstruct.js';
import type { CommandContext } from '../context.js';
import { EXIT_OK, looksLikeText, readInputFile, UsageError } from '../io.js';
import { type CertFlags, certOptions, verifyCertFromFlags } from './verify-cert.js';

type IdentityFlags = CertFlags & { from: string; name: string };

/** Artifacts are operator input: a malformed one is a usage error (exit 2) with its code. */
function usage(e: unknown): never {
  if (e instanceof RatlsError) throw new UsageError(e.code, `${e.code}: ${e.message}`);
  throw e;
}

async function blockFrom(flags: IdentityFlags, ctx: CommandContext): Promise<{ block: IdentityBlock; kind: string }> {
  const bytes = readInputFile(flags.from, 'artifact');
  if (isSigstruct(bytes)) {
    try {
      return { block: identityFromSigstruct(flags.name, parseSigstruct(bytes)), kind: 'SGX SIGSTRUCT' };
    } catch (e) {
      usage(e);
    }
  }
  const text = looksLikeText(bytes) ? Buffer.from(bytes).toString('utf8') : undefined;
  if (text?.trimStart().startsWith('{')) {
    try {
      // nitro-cli output has a Measurements object; anything else is a TDX/SNP tool's flat object.
      if (/"Measurements"\s*:/.test(text)) {
        return { block: identityFromEif(flags.name, parseEifJson(text)), kind: 'nitro-cli EIF measurements' };
      }
      const m = parseMeasurementJson(text);
      return { block: identityFromTool(flags.name, m), kind: `${m.tee.toUpperCase()} measurement tool JSON` };
    } catch (e) {
      usage(e);
    }
  }
  // Anything else is taken as an RA-TLS certificate: verified before its values are believed.
  const { verification } = await verifyCertFromFlags(flags.from, flags, ctx);
  return {
    block: identityFromResult(flags.name, verification.result),
    kind: `RA-TLS certificate (${verification.result.tee})`,
  };
}

/** Registers `policy identity` under the `policy` command. */
export function registerPolicyIdentity(policy: Command, ctx: CommandContext): void {
  certOptions(
    policy
      .command('identity')
      .description('print a policy identity block from a SIGSTRUCT (.sig), nitro-cli EIF JSON or an RA-TLS certificate')
      .requiredOption('--from <artifact>', 'the artifact to read reference values from')
      .option('--name <name>', 'identity name', 'app'),
  ).action(async (flags: IdentityFlags) => {
    const { block, kind } = await blockFrom(flags, ctx);
    if (flags.json) ctx.out(JSON.stringify(block));
    else ctx.out(renderIdentity(block, `from ${flags.from} (${kind}); paste under identities:`).trimEnd());
    ctx.exitCode = EXIT_OK;
  });
}
