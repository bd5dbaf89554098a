/** parseQuoteText: the CLI edge, where quotes arrive as hex text. */
import { EvidenceParseError } from '../errors.js';
import { MAX_QUOTE_BYTES } from './types.js';

const HEX = /^[0-9a-fA-F]*$/;

/**
 * Decodes a hex quote: optional `0x`, whitespace (line breaks, spaces) anywhere is ignored.
 * @example parseQuote(parseQuoteText(readFileSync('quote.hex', 'utf8')))
 */
export function parseQuoteText(text: string): Uint8Array {
  if (typeof text !== 'string') throw new EvidenceParseError('ERR_QUOTE_TEXT', 'parse', 'quote text: not a string');
  // Bound before any work: hex doubles the size; allow generous whitespace on top.
  if (text.length > MAX_QUOTE_BYTES * 4) {
    throw new EvidenceParseError(
      'ERR_QUOTE_TOO_LARGE',
      'parse',
      `quote text: ${text.length} characters is larger than any quote of at most ${MAX_QUOTE_BYTES} bytes`,
    );
  }
  let s = text.replace(/\s+/g, '');
  if (s.startsWith('0x') || s.startsWith('0X')) s = s.slice(2);
  if (s.length % 2 !== 0 || !HEX.test(s)) {
    const bad = s.search(/[^0-9a-fA-F]/);
    throw new EvidenceParseError(
      'ERR_QUOTE_TEXT',
      'parse',
      bad >= 0
        ? `quote text: character ${JSON.stringify(s[bad])} at position ${bad} is not hex`
        : `quote text: odd number of hex digits (${s.length})`,
    );
  }
  if (s.length / 2 > MAX_QUOTE_BYTES) {
    throw new EvidenceParseError(
      'ERR_QUOTE_TOO_LARGE',
      'parse',
      `quote text: ${s.length / 2} bytes exceeds ${MAX_QUOTE_BYTES}`,
    );
  }
  return new Uint8Array(Buffer.from(s, 'hex'));
}
