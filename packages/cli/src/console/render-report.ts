/**
 * The static report: the console's views as one self-contained HTML file (inline CSS, script and
 * data, no network), for an incident ticket. Its CSP admits exactly its own inline style and
 * script by hash and nothing else, so a report opened anywhere fetches nothing.
 */
import { createHash } from 'node:crypto';
import type { AuditEvent } from '@ratls/verifier';
import { CONSOLE_BODY, CONSOLE_CSS, CONSOLE_JS } from './assets.js';
import { type ConsoleEntry, consoleEntry } from './explain.js';
import { type ConsoleSummary, eventId, isDecision, Tally } from './tally.js';

/** Decisions listed in full in a report (all of them are counted). */
export const REPORT_MAX_ROWS = 2000;

export interface ReportData {
  summary: ConsoleSummary;
  recent: ConsoleEntry[];
  /** The time the report is "at": its latest event (never the time it was rendered). */
  at?: number;
}

/**
 * Accumulates events into report data: counts over all, the last REPORT_MAX_ROWS decisions whole.
 * @example const r = new ReportBuilder(); r.add(ev); renderReport(r.data())
 */
export class ReportBuilder {
  #tally = new Tally();
  #recent: ConsoleEntry[] = [];
  #at: number | undefined;

  add(ev: AuditEvent): void {
    const t = Date.parse(ev['@timestamp']);
    if (Number.isFinite(t) && (this.#at === undefined || t > this.#at)) this.#at = t;
    if (!isDecision(ev)) {
      this.#tally.add(ev);
      return;
    }
    const entry = consoleEntry(ev, eventId(ev));
    this.#tally.add(ev, entry.why);
    this.#recent.push(entry);
    if (this.#recent.length > REPORT_MAX_ROWS) this.#recent.shift();
  }

  data(): ReportData {
    return {
      summary: this.#tally.summary(),
      recent: [...this.#recent],
      ...(this.#at !== undefined ? { at: this.#at } : {}),
    };
  }
}

const sha256b64 = (s: string): string => createHash('sha256').update(s, 'utf8').digest('base64');

/**
 * The report page. Data goes in a `application/json` script element with `<` escaped, so no
 * event text can close the element or open markup.
 * @example writeFileSync('report.html', renderReport(builder.data()))
 */
export function renderReport(data: ReportData): string {
  const json = JSON.stringify(data).replace(/</g, '\\u003c');
  const csp = `default-src 'none'; style-src 'sha256-${sha256b64(CONSOLE_CSS)}'; script-src 'sha256-${sha256b64(CONSOLE_JS)}'; img-src 'none'; connect-src 'none'; base-uri 'none'; form-action 'none'`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${csp}"><title>ratls audit report</title><style>${CONSOLE_CSS}</style></head><body>${CONSOLE_BODY}<script id="ratls-data" type="application/json">${json}</script><script>${CONSOLE_JS}</script></body></html>`;
}
