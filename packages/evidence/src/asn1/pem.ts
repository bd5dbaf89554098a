/**
 * The one PEM reader (RFC 7468 strict form): `-----BEGIN L-----`, base64 lines, `-----END L-----`
 * with the same label L, the label the caller expects; base64 strictly as RFC 4648 §4 (its
 * alphabet, padding only at the end, zero pad bits, no spaces inside a line; line breaks between
 * lines); only whitespace before, between and after blocks. Bounded in characters and blocks.
 * Failures are `CertificateError` `ERR_PEM_MALFORMED` (or `ERR_PEM_TOO_LARGE`), naming the line.
 */
import { CertificateError } from '../errors.js';
import { readPemLines, zeroPadBits } from './pem-lines.js';

/** Default bound on PEM text (a chain of a few certificates is ~6 KiB). */
export const PEM_MAX_CHARS = 256 * 1024;
/** Default bound on blocks in one text. */
export const PEM_MAX_BLOCKS = 8;

export interface PemOptions {
  /** Expected label of every block (`CERTIFICATE`, `X509 CRL`). */
  label: string;
  /** At most this many blocks (default `PEM_MAX_BLOCKS`). */
  maxBlocks?: number;
  /** At most this many characters (default `PEM_MAX_CHARS`). */
  maxChars?: number;
}

/** Whitespace-only lines, each ended by a line break (what may come before a block). */
const WS_LINES = /^(?:[ \t]*\r?\n)*$/;
/** The same, where the last line may have no line break (what may follow the last block). */
const WS_TAIL = /^(?:[ \t]*\r?\n)*[ \t]*\r?$/;
/** Anything but the base64 alphabet, padding and line breaks. */
const NOT_BODY = /[^A-Za-z0-9+/=\r\n]/;
/** A CR that does not end a line. */
const LONE_CR = /\r(?!\n)/;
/** Where padding may stand: at the end of the last line, right before the end armour. */
const PAD_TAIL = /^={1,2}\r?\n$/;

function count(text: string, ch: string): number {
  let n = 0;
  for (let i = text.indexOf(ch); i >= 0; i = text.indexOf(ch, i + 1)) n++;
  return n;
}

/**
 * Checks a block body as the line reader would accept it (lines of the base64 alphabet, each
 * ended by LF or CRLF; one or two `=` ending the last line only) with native scans instead of a
 * split and a regex per line, and returns the count of base64 characters and the last three of
 * them, or undefined.
 */
function scanBody(body: string): { n: number; last: string } | undefined {
  if (body.length === 0 || body.charCodeAt(body.length - 1) !== 10 || NOT_BODY.test(body)) return undefined;
  const cr = body.includes('\r');
  if (cr && LONE_CR.test(body)) return undefined;
  const pad = body.indexOf('=');
  if (pad >= 0 && !PAD_TAIL.test(body.slice(pad))) return undefined;
  const n = body.length - count(body, '\n') - (cr ? count(body, '\r') : 0);
  let last = '';
  for (let i = body.length - 1; i >= 0 && last.length < 3; i--) {
    const c = body.charCodeAt(i);
    if (c !== 10 && c !== 13) last = body[i] + last;
  }
  return { n, last };
}

/**
 * The common case in one pass per block: armour found with `indexOf`, each body checked by a few
 * native scans and decoded as it stands (the line-by-line reader's split, per-line regex and
 * join were most of the PEM share of a cold DCAP appraisal). Accepts only what `readPemLines` accepts, with the
 * same bytes; anything else returns undefined and the line reader decides and names the line.
 */
function readPemBlocks(text: string, begin: string, end: string, maxBlocks: number): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let pos = 0;
  for (;;) {
    const b = text.indexOf(begin, pos);
    if (b < 0) break;
    if (out.length >= maxBlocks || !WS_LINES.test(text.slice(pos, b))) return undefined;
    const bodyAt = lineEnd(text, b + begin.length);
    if (bodyAt < 0) return undefined;
    const e = text.indexOf(end, bodyAt);
    if (e < 0) return undefined;
    const body = text.slice(bodyAt, e);
    const scan = scanBody(body);
    if (!scan || scan.n === 0 || scan.n % 4 !== 0 || !zeroPadBits(scan.last)) return undefined;
    // Node's decoder skips the line breaks; everything else in the body is alphabet or final padding.
    const der = Buffer.from(body, 'base64');
    out.push(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
    const after = text.length === e + end.length ? text.length : lineEnd(text, e + end.length);
    if (after < 0) return undefined;
    pos = after;
  }
  if (out.length === 0 || !WS_TAIL.test(text.slice(pos))) return undefined;
  return out;
}

/** Index after the line break at `i` (`\n` or `\r\n`), or -1 when the line goes on. */
function lineEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 10) return i + 1;
  if (text.charCodeAt(i) === 13 && text.charCodeAt(i + 1) === 10) return i + 2;
  return -1;
}

/**
 * Every block of PEM text, decoded, in order; at least one.
 * @example const [leaf, issuer] = readPem(chainText, { label: 'CERTIFICATE' })
 */
export function readPem(text: string, o: PemOptions): Uint8Array[] {
  const maxChars = o.maxChars ?? PEM_MAX_CHARS;
  const maxBlocks = o.maxBlocks ?? PEM_MAX_BLOCKS;
  if (typeof text !== 'string')
    throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: input is not text (line ${0})`);
  if (text.length > maxChars) {
    throw new CertificateError('ERR_PEM_TOO_LARGE', 'pem', `PEM: ${text.length} characters exceeds ${maxChars}`);
  }
  const begin = `-----BEGIN ${o.label}-----`;
  const end = `-----END ${o.label}-----`;
  return readPemBlocks(text, begin, end, maxBlocks) ?? readPemLines(text, begin, end, maxBlocks);
}

/**
 * Exactly one block.
 * @example const der = readPemOne(rootPem, 'CERTIFICATE')
 */
export function readPemOne(text: string, label: string, maxChars?: number): Uint8Array {
  const blocks = readPem(text, { label, maxBlocks: 1, ...(maxChars !== undefined ? { maxChars } : {}) });
  return blocks[0] as Uint8Array;
}

/**
 * PEM text for DER bytes (64-column base64, as OpenSSL writes it).
 * @example writePem(der, 'CERTIFICATE')
 */
export function writePem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
