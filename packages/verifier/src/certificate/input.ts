/**
 * Certificate input at the edge: DER bytes, or PEM text (string or bytes). Bounded before any
 * decoding. When PEM holds a chain, the first CERTIFICATE block is the certificate; later blocks
 * add no trust (issuers are trusted only through `certificateAuthorities`).
 */
import { CertificateError, MAX_RATLS_CERT_BYTES, RatlsError, readPem } from '@ratls/evidence';

/** PEM is base64 (4/3) plus line breaks and armour, for a few blocks. */
const MAX_PEM_CHARS = 2 * Math.ceil((MAX_RATLS_CERT_BYTES * 4) / 3);
const MAX_PEM_BLOCKS = 8;

/**
 * Every CERTIFICATE block of PEM text, as DER (strict `readPem`; bounded count and size).
 * @example const [leaf, ...rest] = pemCertificates(readFileSync('chain.pem', 'utf8'))
 */
export function pemCertificates(text: string): Uint8Array[] {
  if (text.length > MAX_PEM_CHARS)
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'certificate',
      `certificate PEM characters: ${text.length} exceeds the limit of ${MAX_PEM_CHARS}`,
    );
  try {
    return readPem(text, { label: 'CERTIFICATE', maxBlocks: MAX_PEM_BLOCKS, maxChars: MAX_PEM_CHARS });
  } catch (e) {
    const code = e instanceof RatlsError ? e.code : 'ERR_PEM_MALFORMED';
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', `certificate PEM: ${(e as Error).message} (${code})`, {
      cause: e,
    });
  }
}

function fromPem(text: string): Uint8Array {
  const der = pemCertificates(text)[0];
  if (!der || der.length === 0)
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', 'certificate PEM: no CERTIFICATE block');
  return der;
}

/**
 * DER of a certificate given as DER or PEM.
 * @example certificateDer(readFileSync('cert.pem', 'utf8'))
 */
export function certificateDer(input: Uint8Array | string): Uint8Array {
  if (typeof input === 'string') return fromPem(input);
  if (!(input instanceof Uint8Array))
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', 'certificate: expected DER bytes or PEM text');
  // "-----": PEM handed over as bytes.
  if (
    input.length > 5 &&
    input[0] === 0x2d &&
    input[1] === 0x2d &&
    input[2] === 0x2d &&
    input[3] === 0x2d &&
    input[4] === 0x2d
  ) {
    if (input.length > MAX_PEM_CHARS)
      throw new CertificateError(
        'ERR_CERT_TOO_LARGE',
        'certificate',
        `certificate PEM bytes: ${input.length} exceeds the limit of ${MAX_PEM_CHARS}`,
      );
    return fromPem(new TextDecoder().decode(input));
  }
  if (input.length > MAX_RATLS_CERT_BYTES)
    throw new CertificateError(
      'ERR_CERT_TOO_LARGE',
      'certificate',
      `certificate bytes: ${input.length} exceeds the limit of ${MAX_RATLS_CERT_BYTES}`,
    );
  return input;
}
