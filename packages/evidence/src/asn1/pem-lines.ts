/**
 * The line-by-line PEM reader behind `readPem` (RFC 7468 strict form, see pem.ts): the reference
 * that decides every input the one-pass reader leaves, and names the failing line. Internal to
 * the evidence package (not re-exported by its index).
 */
import { CertificateError } from '../errors.js';

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
 * @example zeroPadBits("AQ==") // true; zeroPadBits("AR==") is false (stray bits)
 */
export function zeroPadBits(b64: string): boolean {
  const n = b64.length;
  if (b64.charCodeAt(n - 1) !== 61) return true;
  if (b64.charCodeAt(n - 2) === 61) return (b64Value(b64.charCodeAt(n - 3)) & 0x0f) === 0;
  return (b64Value(b64.charCodeAt(n - 2)) & 0x03) === 0;
}

/**
 * The reference reader, line by line: decides every input the fast path leaves, and names the
 * line. Internal (not in the package index); exported for the equivalence test.
 * @example readPemLines(text, '-----BEGIN CERTIFICATE-----', '-----END CERTIFICATE-----', 8)
 */
export function readPemLines(text: string, begin: string, end: string, maxBlocks: number): Uint8Array[] {
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
