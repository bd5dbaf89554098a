/**
 * `ratls policy replay --audit <audit.jsonl> --policy <candidate.yaml> [--at T] [--listener NAME] [--json]`:
 * how a policy change is reviewed. Re-evaluates the attestation results recorded in the audit log
 * against the candidate (each at its recorded decision time unless `--at`) and lists the decisions
 * that would change. Exit 0 when no accepted peer would be refused, 1 when one would, 2 on usage.
 */
import { createReadStream, statSync } from 'node:fs';
import { boundedLines, MAX_REPLAY_LINE_BYTES, type ReplayReport, replayAudit } from '@ratls/verifier';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { EXIT_OK, EXIT_REFUSED, parseAt, UsageError } from '../io.js';
import { loadPolicyOrUsage } from './policy-load.js';

interface ReplayFlags {
  audit: string;
  policy: string;
  at?: string;
  listener?: string;
  json?: boolean;
}

function describe(r: ReplayReport, auditFile: string): string[] {
  const c = r.counts;
  const when =
    r.time === 'recorded'
      ? 'each event at its recorded decision time'
      : `every event at ${new Date(r.time * 1000).toISOString()} (--at)`;
  const out = [
    `replayed ${c.replayed} of ${c.handshakes} handshake decisions from ${auditFile} against policy ${r.policyHash.slice(0, 12)}, ${when}`,
    `  accept→refuse ${c.acceptToRefuse}, refuse→accept ${c.refuseToAccept}, identity renamed ${c.identityRenamed}, unchanged ${c.unchanged}`,
    `  not replayable (refused before policy) ${c.notReplayable}, other events ${c.otherEvents}, problems ${c.problems}`,
  ];
  for (const ch of r.changes) {
    const who = `${ch.peer ?? 'peer'} ${ch.evidenceSha256.slice(0, 12)}${ch.listener ? ` listener=${ch.listener}` : ''}`;
    const before = ch.before.accept ? `accepted as ${ch.before.identity ?? '?'}` : `refused (${ch.before.reason})`;
    const after = ch.after.accept
      ? `accepted as ${ch.after.identity}`
      : `refused (${ch.after.reason}: ${ch.after.message ?? ''})`;
    out.push(`${ch.kind} line ${ch.line} ${ch['@timestamp']} ${who}: was ${before}, would be ${after}`);
  }
  for (const p of r.problems) out.push(`problem line ${p.line}: ${p.code}: ${p.message}`);
  return out;
}

export function registerPolicyReplay(policy: Command, ctx: CommandContext): void {
  policy
    .command('replay')
    .description(
      'replay the decisions recorded in an audit log against a candidate policy: exit 0 no accepted peer refused, 1 some would be, 2 usage',
    )
    .requiredOption('--audit <audit.jsonl>', 'audit log written by the gateway or the verifier (JSON lines)')
    .requiredOption('--policy <candidate.yaml>', 'the candidate policy')
    .option('--at <time>', 'evaluate every event at this unix time (seconds) instead of its recorded decision time')
    .option('--listener <name>', 'only the decisions of this gateway listener')
    .option('--json', 'print one JSON object (for CI)')
    .action(async (flags: ReplayFlags) => {
      const p = await loadPolicyOrUsage(flags.policy);
      try {
        if (!statSync(flags.audit).isFile()) throw new Error('not a regular file');
      } catch (e) {
        throw new UsageError('ERR_INPUT_UNREADABLE', `cannot read audit log ${flags.audit}: ${(e as Error).message}`);
      }
      const at = flags.at !== undefined ? parseAt(flags.at) : undefined;
      const lines = boundedLines(createReadStream(flags.audit), MAX_REPLAY_LINE_BYTES);
      const report = await replayAudit(lines, p, {
        ...(at !== undefined ? { at } : {}),
        ...(flags.listener !== undefined ? { listener: flags.listener } : {}),
      });
      if (flags.json) ctx.out(JSON.stringify(report));
      else for (const line of describe(report, flags.audit)) ctx.out(line);
      ctx.exitCode = report.counts.acceptToRefuse > 0 ? EXIT_REFUSED : EXIT_OK;
    });
}
