import { EvidenceParseError } from '../errors.js';
import { NITRO_MAX_DOCUMENT } from './limits.js';

const HEX = /^(0x)?[0-9a-fA-F]+$/;
const B64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Decodes a Nitro document given as text at the edge (hex, or base64 / base64url; whitespace
 * ignored). Returns the raw COSE_Sign1 bytes for `parseNitroDocument`.
 *
 * @example parseNitroDocument(nitroDocumentFromText(readFileSync('doc.b64', 'utf8')))
 */
export function nitroDocumentFromText(text: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  if (s.length === 0 || s.length > NITRO_MAX_DOCUMENT * 2 + 2) {
    throw new EvidenceParseError(
      'ERR_NITRO_DOC_SIZE',
      'parse',
      `nitro document text: ${s.length} characters is out of bounds`,
    );
  }
  // A COSE_Sign1 starts with 0x84 or 0xd2: hex text starts with "84"/"d2", base64 with "h"/"0"; hex wins when it fits.
  if (HEX.test(s) && s.length % 2 === 0 && /^(0x)?(84|d2)/i.test(s)) {
    return new Uint8Array(Buffer.from(s.replace(/^0x/, ''), 'hex'));
  }
  if (!B64.test(s)) {
    throw new EvidenceParseError('ERR_NITRO_DOC_ENCODING', 'parse', 'nitro document text: neither hex nor base64');
  }
  return new Uint8Array(Buffer.from(s, s.includes('-') || s.includes('_') ? 'base64url' : 'base64'));
}
