/**
 * One parse per piece of evidence per decision. ARCHITECTURE "Parsing": two parsers never read
 * the same bytes for one decision; so the binding check, the identity agreement check and the
 * appraiser share one parsed quote rather than each running the quote parser again (which was
 * also a measurable share of a fresh certificate's verification, issue 12).
 */
import { parseQuote } from '../quote/parse.js';
import type { Quote } from '../quote/types.js';
import type { ExtractedEvidence } from './extract.js';

/**
 * The parsed quotes of one certificate's evidence, made on first use and kept for that one
 * decision only: create one per certificate, never share it across certificates. Keyed by the
 * evidence byte view itself (a view made by extraction for this certificate), so a quote is only
 * ever looked up by the very bytes it was parsed from. Parse failures are not kept: asking again
 * throws the parser's typed error again.
 * @example
 * const parses = new EvidenceParses();
 * checkCertificateBinding(parts, { parses });
 * parses.quote(parts.evidence[0]).body.report.reportData; // no second parse
 */
export class EvidenceParses {
  readonly #quotes = new Map<Uint8Array, Quote>();

  /** The quote (SGX or TDX evidence), parsed once by `parseQuote`. */
  quote(ev: Pick<ExtractedEvidence, 'evidence'>): Quote {
    let q = this.#quotes.get(ev.evidence);
    if (!q) {
      q = parseQuote(ev.evidence);
      this.#quotes.set(ev.evidence, q);
    }
    return q;
  }
}
