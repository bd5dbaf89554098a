/** `ratls report --audit audit.jsonl --out report.html`: the console's views of an audit log, offline. */
import { createReadStream, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { AuditEvent } from '@ratls/verifier';
import type { Command } from 'commander';
import { ReportBuilder, renderReport } from '../console/render-report.js';
import type { CommandContext } from '../context.js';
import { EXIT_OK, UsageError } from '../io.js';

/** Longest audit line read; the writer caps its fields well below this, so longer is not ours. */
const MAX_LINE_CHARS = 256 * 1024;

export function registerReport(program: Command, ctx: CommandContext): void {
  program
    .command('report')
    .description(
      'render an audit log (JSON lines) as a self-contained HTML report: decisions, identities, reloads, a chart',
    )
    .requiredOption('--audit <file>', 'the audit log (one JSON event per line)')
    .requiredOption('--out <file>', 'the HTML file to write')
    .action(async (flags: { audit: string; out: string }) => {
      ctx.exitCode = await reportCommand(flags, ctx);
    });
}

function looksLikeEvent(x: unknown): x is AuditEvent {
  if (typeof x !== 'object' || x === null) return false;
  const e = (x as { event?: unknown }).event;
  return (
    typeof (x as { '@timestamp'?: unknown })['@timestamp'] === 'string' &&
    typeof e === 'object' &&
    e !== null &&
    Array.isArray((e as { type?: unknown }).type) &&
    Array.isArray((e as { category?: unknown }).category)
  );
}

/**
 * Reads the log line by line (any size), skips and counts lines that are not audit events.
 * @example await reportCommand({ audit: 'audit.jsonl', out: 'report.html' }, ctx)
 */
export async function reportCommand(flags: { audit: string; out: string }, ctx: CommandContext): Promise<number> {
  const builder = new ReportBuilder();
  let events = 0;
  let skipped = 0;
  try {
    const lines = createInterface({ input: createReadStream(flags.audit, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === '') continue;
      if (line.length > MAX_LINE_CHARS) {
        skipped++;
        continue;
      }
      let x: unknown;
      try {
        x = JSON.parse(line);
      } catch {
        skipped++;
        continue;
      }
      if (!looksLikeEvent(x)) {
        skipped++;
        continue;
      }
      builder.add(x);
      events++;
    }
  } catch (e) {
    throw new UsageError('ERR_INPUT_UNREADABLE', `audit log ${flags.audit}: ${(e as Error).message}`);
  }
  const data = builder.data();
  try {
    writeFileSync(flags.out, renderReport(data));
  } catch (e) {
    throw new UsageError('ERR_INPUT_UNREADABLE', `cannot write ${flags.out}: ${(e as Error).message}`);
  }
  ctx.out(
    `report ${flags.out}: ${events} events, ${data.summary.total} decisions (${data.summary.allowed} allowed, ${data.summary.denied} refused)${skipped ? `, ${skipped} lines skipped` : ''}`,
  );
  return EXIT_OK;
}
