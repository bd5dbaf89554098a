/**
 * `ratls policy check <policy>` and
 * `ratls policy test <policy> <cert> (--collateral | --pccs) [--at] [--trust-anchor]… [--json]`,
 * and `ratls policy replay` (policy-replay.ts).
 */

import { decisionSummary, evaluatePolicy, type Policy, PolicyValidationError } from '@ratls/verifier';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, errorJson } from '../io.js';
import { registerPolicyDiff } from './policy-diff.js';
import { registerPolicyIdentity } from './policy-identity.js';
import { loadPolicyOrUsage } from './policy-load.js';
import { registerPolicyReplay } from './policy-replay.js';
import { type CertFlags, certOptions, verifyCertFromFlags } from './verify-cert.js';

export function registerPolicy(program: Command, ctx: CommandContext): void {
  const policy = program.command('policy').description('validate and try out policy files');
  registerPolicyIdentity(policy, ctx);
  registerPolicyDiff(policy, ctx);
  policy
    .command('check')
    .description('validate a policy file (exit 0 valid, 2 invalid, with file:line:column of each mistake)')
    .argument('<policy>')
    .option('--json', 'print one JSON object')
    .action(async (file: string, flags: { json?: boolean }) => {
      let p: Policy;
      try {
        p = await loadPolicyOrUsage(file);
      } catch (e) {
        if (!flags.json) throw e;
        // --json: the verdict is the output, with each located issue for editors and CI annotations.
        const cause = (e as { cause?: unknown }).cause;
        const issues = cause instanceof PolicyValidationError ? cause.issues : [];
        ctx.out(JSON.stringify({ ok: false, error: errorJson(e), issues }));
        ctx.exitCode = EXIT_USAGE;
        return;
      }
      if (flags.json) {
        ctx.out(JSON.stringify({ ok: true, policyHash: p.hash, identities: p.identities.map((i) => i.name) }));
      } else {
        ctx.out(
          `policy ${file}: valid, ${p.identities.length} identities (${p.identities.map((i) => i.name).join(', ')})`,
        );
        ctx.out(`policyHash ${p.hash}`);
      }
      for (const w of p.warnings) ctx.err(`warning: ${w}`);
      ctx.exitCode = EXIT_OK;
    });
  certOptions(
    policy
      .command('test')
      .description('verify a certificate and apply the policy: exit 0 accept, 1 reject, 2 usage')
      .argument('<policy>')
      .argument('<cert>'),
  ).action(async (policyFile: string, certFile: string, flags: CertFlags) => {
    const p = await loadPolicyOrUsage(policyFile);
    let out: Record<string, unknown>;
    try {
      const { at, verification } = await verifyCertFromFlags(certFile, flags, ctx);
      const d = evaluatePolicy(p, verification.result, { certificate: verification.certificate, at });
      out = {
        decision: d.accept ? 'accept' : 'reject',
        ...(d.accept ? { identity: d.identity } : {}),
        reasons: d.reasons,
        ...(!d.accept && d.closest ? { closest: d.closest } : {}),
        policyHash: p.hash,
        result: verification.result,
        certificate: verification.certificate,
      };
      if (!flags.json) ctx.out(decisionSummary(d));
    } catch (e) {
      const err = errorJson(e);
      if (err.step === 'usage') throw e;
      out = {
        decision: 'reject',
        reasons: [{ code: 'verification_failed', message: `${err.code}: ${err.message}` }],
        error: err,
        policyHash: p.hash,
      };
      if (!flags.json) ctx.out(`reject: verification failed: ${err.code} (${err.step}): ${err.message}`);
    }
    if (flags.json) ctx.out(JSON.stringify(out));
    ctx.exitCode = out.decision === 'accept' ? EXIT_OK : EXIT_REFUSED;
  });
  registerPolicyReplay(policy, ctx);
}
