/** `ratls inspect <file> [--json]`: what a certificate, quote, SNP report or Nitro document contains. */

import { parseQuote, parseQuoteText, RatlsError, readPem } from '@ratls/evidence';
import type { Command } from 'commander';
import type { CommandContext } from '../context.js';
import { certificateSummary, nitroSummary, quoteSummary, type Summary, snpSummary } from '../evidence-summary.js';
import {
  EXIT_OK,
  EXIT_REFUSED,
  errorJson,
  formatRows,
  looksLikeText,
  parseAt,
  readInputFile,
  UsageError,
} from '../io.js';

export function registerInspect(program: Command, ctx: CommandContext): void {
  program
    .command('inspect')
    .description(
      'show the evidence in an RA-TLS certificate (PEM/DER), a DCAP quote, an SNP report or a Nitro document',
    )
    .argument('<file>')
    .option('--at <unix-seconds>', 'time for the certificate validity column (default: now)')
    .option('--json', 'print one JSON object')
    .action(async (file: string, flags: { json?: boolean; at?: string }) => {
      ctx.exitCode = inspectCommand(file, flags, ctx);
    });
}

/** Decides what the bytes are. Certificates first (PEM or DER), then the evidence formats. */
export function summarize(raw: Uint8Array, at: number): Summary {
  const text = looksLikeText(raw) ? Buffer.from(raw).toString('utf8') : undefined;
  // PEM goes through the strict reader: a chain file is summarised by its first certificate.
  if (text?.trimStart().startsWith('-----BEGIN ')) {
    return certificateSummary(readPem(text, { label: 'CERTIFICATE' })[0] as Uint8Array, at);
  }
  let bytes = raw;
  if (text !== undefined) {
    try {
      bytes = parseQuoteText(text);
    } catch {
      try {
        bytes = new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'base64'));
      } catch {
        throw new UsageError('ERR_INPUT_UNREADABLE', 'text input is neither PEM, hex nor base64');
      }
    }
  }
  // Only a DER SEQUENCE is tried as a certificate: the X.509 library also accepts text and would
  // find the PCK chain PEM inside a quote.
  const attempts: Array<() => Summary> = [
    ...(bytes[0] === 0x30 ? [() => certificateSummary(bytes, at)] : []),
    () => quoteSummary(parseQuote(bytes)),
    () => snpSummary(bytes),
    () => nitroSummary(bytes),
  ];
  const errors: string[] = [];
  for (const attempt of attempts) {
    try {
      return attempt();
    } catch (e) {
      errors.push(e instanceof RatlsError ? e.code : 'not this format');
    }
  }
  throw new UsageError(
    'ERR_INPUT_UNRECOGNISED',
    `not a certificate, DCAP quote, SNP report or Nitro document (${errors.join(', ')})`,
  );
}

export function inspectCommand(file: string, flags: { json?: boolean; at?: string }, ctx: CommandContext): number {
  const at = parseAt(flags.at);
  const raw = readInputFile(file, 'input');
  let s: Summary;
  try {
    s = summarize(raw, at);
  } catch (e) {
    if (e instanceof UsageError) throw e;
    if (flags.json) ctx.out(JSON.stringify({ ok: false, error: errorJson(e) }));
    else ctx.err(`cannot inspect: ${errorJson(e).message}`);
    return EXIT_REFUSED;
  }
  if (flags.json) ctx.out(JSON.stringify(s));
  else ctx.out(renderSummary(s));
  const evidence = (s.evidence as Summary[] | undefined) ?? [];
  return s.kind === 'certificate' && (evidence.length === 0 || evidence.some((e) => !(e.binding as Summary).ok))
    ? EXIT_REFUSED
    : EXIT_OK;
}

function iso(t: unknown): string {
  return typeof t === 'number' ? new Date(t * 1000).toISOString() : String(t);
}

function measurementRows(m: unknown): Array<[string, string]> {
  if (!m || typeof m !== 'object') return [];
  return Object.entries(m as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]);
}

export function renderSummary(s: Summary): string {
  const lines: string[] = [];
  if (s.kind === 'certificate') {
    lines.push('RA-TLS certificate');
    lines.push(
      formatRows([
        ['subject', String(s.subject)],
        ['issuer', s.selfSigned ? 'self-signed' : String(s.issuer)],
        ['validity', `${iso(s.notBefore)} .. ${iso(s.notAfter)}${s.validNow ? '' : '  (NOT valid at the given time)'}`],
        ['SHA-256', String(s.fingerprintSha256)],
        ['formats', (s.formats as string[]).length ? (s.formats as string[]).join(', ') : 'none (no evidence)'],
      ]),
    );
    for (const [i, ev] of ((s.evidence as Summary[]) ?? []).entries()) {
      const b = ev.binding as Summary;
      lines.push(`evidence ${i + 1}: ${ev.format} (${ev.tee}${ev.quoteVersion ? `, quote v${ev.quoteVersion}` : ''})`);
      lines.push(
        formatRows([
          ['binding', b.ok ? `holds (${b.rule})` : `FAILS ${b.code}: ${b.message}`],
          ['debug', ev.debug as boolean | undefined],
          ...measurementRows(ev.measurements),
          ['parse error', ev.parseError ? JSON.stringify(ev.parseError) : undefined],
        ]),
      );
    }
    if (s.error) lines.push(`error: ${JSON.stringify(s.error)}`);
    return lines.join('\n');
  }
  lines.push(String(s.kind));
  const { measurements, kind: _k, ...rest } = s;
  lines.push(
    formatRows(Object.entries(rest).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)])),
  );
  lines.push('measurements');
  lines.push(formatRows(measurementRows(measurements)));
  return lines.join('\n');
}
