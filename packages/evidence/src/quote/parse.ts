/**
 * parseQuote: bytes in, typed DCAP quote out, or an EvidenceParseError (step 'parse').
 * Layout: header (48) ‖ [v5: body descriptor (6)] ‖ body ‖ u32 signature data length ‖ signature
 * data ‖ trailing bytes. Real quotes carry padding after the signature data (70 or 3065 zero
 * bytes, or ASCII), so the quote ends where the length fields say, never at the buffer's end.
 */
import { EvidenceParseError, RatlsError } from '../errors.js';
import { parseQuoteBody } from './body.js';
import { parseQuoteHeader } from './header.js';
import { plainBytes, QuoteReader } from './reader.js';
import { parseSignatureData } from './signature-data.js';
import { MAX_QUOTE_BYTES, type Quote, TEE_TYPE_SGX } from './types.js';

/**
 * Parses an SGX v3 or TDX v4/v5 quote. Pure: no signature or collateral check happens here.
 * @example
 * const q = parseQuote(readFileSync('quote.bin'));
 * if (q.body.kind === 'sgx') console.log(toHex(q.body.report.mrEnclave));
 */
export function parseQuote(input: Uint8Array): Quote {
  if (!(input instanceof Uint8Array)) {
    throw new EvidenceParseError('ERR_QUOTE_INPUT', 'parse', 'quote: input is not a Uint8Array');
  }
  const bytes = plainBytes(input);
  if (bytes.length > MAX_QUOTE_BYTES) {
    throw new EvidenceParseError(
      'ERR_QUOTE_TOO_LARGE',
      'parse',
      `quote: ${bytes.length} bytes exceeds the limit of ${MAX_QUOTE_BYTES}`,
    );
  }
  try {
    const r = new QuoteReader(bytes, 'quote');
    const header = parseQuoteHeader(r);
    const body = parseQuoteBody(header, r);
    const signedLength = r.offset;
    const sigLength = r.u32('signature data length');
    const signatureData = parseSignatureData(r.sub(sigLength, 'signature data'), header.version);
    return {
      header,
      tee: header.teeType === TEE_TYPE_SGX ? 'sgx' : 'tdx',
      body,
      signedBytes: bytes.slice(0, signedLength),
      signatureData,
      trailingBytes: r.remaining,
      length: r.offset,
    };
  } catch (e) {
    if (e instanceof RatlsError) throw e;
    // Every read is bounds-checked; this is a safety net so nothing untyped escapes.
    throw new EvidenceParseError(
      'ERR_QUOTE_MALFORMED',
      'parse',
      `quote: ${e instanceof Error ? e.message : String(e)}`,
      {
        cause: e,
      },
    );
  }
}
