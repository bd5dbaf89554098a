/**
 * The one PEM reader (RFC 7468 strict form): `-----BEGIN L-----`, base64 lines, `-----END L-----`
 * with the same label L, the label the caller expects; base64 strictly as RFC 4648 §4 (its
 * alphabet, padding only at the end, zero pad bits, no spaces inside a line; line breaks between
 * lines); only whitespace before, between and after blocks. Bounded in characters and blocks.
 * Failures are `CertificateError` `ERR_PEM_MALFORMED` (or `ERR_PEM_TOO_LARGE`), naming the line.
 */
import { CertificateError } from '../errors.js';

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

const B64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;
const WS_LINE = /^[ \t]*$/;

/** Alphabet index of a base64 character (the caller has checked it is in the alphabet). */
function b64Value(c: number): number {
  if (c >= 65 && c <= 90) return c - 65; // A-Z
  if (c >= 97 && c <= 122) return c - 71; // a-z
  if (c >= 48 && c <= 57) return c + 4; // 0-9
  return c === 43 ? 62 : 63; // + /
}

/**
 * True when the bits a padded final quantum leaves over are zero. The block has passed the line
 * checks (alphabet, padding only at the very end, length a multiple of 4), so its last quantum is
 * `xxxx`, `xxx=` or `xx==`; the last data character carries 2 (`=`) or 4 (`==`) unused bits. This
 * is exactly when decoding and re-encoding give the same text, without encoding again.
 */
function zeroPadBits(b64: string): boolean {
  const n = b64.length;
  if (b64.charCodeAt(n - 1) !== 61) return true;
  if (b64.charCodeAt(n - 2) === 61) return (b64Value(b64.charCodeAt(n - 3)) & 0x0f) === 0;
  return (b64Value(b64.charCodeAt(n - 2)) & 0x03) === 0;
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
  const lines = text.split('\n');
  const out: Uint8Array[] = [];
  let body: string[] | undefined;
  let padded = false;
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const n = i + 1;
    if (body === undefined) {
      if (line === begin) {
        if (out.length >= maxBlocks)
          throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: more than ${maxBlocks} blocks (line ${n})`);
        body = [];
        padded = false;
      } else if (line.startsWith('-----BEGIN ') || line.startsWith('-----END ')) {
        throw new CertificateError(
          'ERR_PEM_MALFORMED',
          'pem',
          `PEM: armour "${line.slice(0, 40)}" is not "${begin}" (line ${n})`,
        );
      } else if (!WS_LINE.test(line)) {
        throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: text outside a PEM block (line ${n})`);
      }
      continue;
    }
    if (line === end) {
      const b64 = body.join('');
      if (b64.length === 0 || b64.length % 4 !== 0)
        throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: base64 length is not a multiple of 4 (line ${n})`);
      // Node's decoder forgives stray pad bits, so they are checked here (RFC 4648 §3.5 canonical).
      if (!zeroPadBits(b64))
        throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: non-canonical base64 (line ${n})`);
      const der = Buffer.from(b64, 'base64');
      out.push(new Uint8Array(der.buffer, der.byteOffset, der.byteLength));
      body = undefined;
      continue;
    }
    if (line.startsWith('-----'))
      throw new CertificateError(
        'ERR_PEM_MALFORMED',
        'pem',
        `PEM: armour "${line.slice(0, 40)}" where "${end}" was expected (line ${n})`,
      );
    if (padded)
      throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: base64 continues after padding (line ${n})`);
    if (!B64_LINE.test(line))
      throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: character outside the base64 alphabet (line ${n})`);
    if (line.endsWith('=')) padded = true;
    body.push(line);
  }
  if (body !== undefined)
    throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: no "${end}" (line ${lines.length})`);
  if (out.length === 0) throw new CertificateError('ERR_PEM_MALFORMED', 'pem', `PEM: no "${begin}" block (line ${1})`);
  return out;
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
