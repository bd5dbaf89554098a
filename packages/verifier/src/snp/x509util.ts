import { X509Certificate } from 'node:crypto';
import { AppraisalError } from '@ratls/evidence';

/** AMD certificates are ~1.4 KiB (VCEK) to ~2 KiB (ARK, RSA-4096). */
export const SNP_MAX_CERT_DER = 8 * 1024;
export const SNP_MAX_CHAIN_PEM = 32 * 1024;

export function chainError(code: string, msg: string, cause?: unknown): AppraisalError {
  return new AppraisalError(code, 'snp-chain', msg, cause === undefined ? undefined : { cause });
}

/** Parses DER or PEM into a node X509Certificate; typed error on failure. */
export function parseCert(input: Uint8Array | string, what: string, code = 'ERR_SNP_CHAIN_INVALID'): X509Certificate {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size === 0 || size > SNP_MAX_CERT_DER * 2) throw chainError(code, `${what}: ${size} bytes is out of bounds`);
  try {
    return new X509Certificate(typeof input === 'string' ? input : Buffer.from(input));
  } catch (e) {
    throw chainError(code, `${what}: not a parseable X.509 certificate`, e);
  }
}

/** Splits PEM text into DER certificates, in order. */
export function splitPem(text: string, what: string): Uint8Array[] {
  if (text.length > SNP_MAX_CHAIN_PEM)
    throw chainError('ERR_SNP_CHAIN_INVALID', `${what}: ${text.length} characters is too long`);
  const out: Uint8Array[] = [];
  const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    out.push(new Uint8Array(Buffer.from((m[1] as string).replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

/** DER bytes from DER or PEM input. */
export function toDer(input: Uint8Array | string, what: string): Uint8Array {
  if (typeof input !== 'string') return input;
  const certs = splitPem(input, what);
  if (certs.length !== 1)
    throw chainError('ERR_SNP_VCEK_INVALID', `${what}: expected one PEM certificate, found ${certs.length}`);
  return certs[0] as Uint8Array;
}

/** The CN of a subject or issuer as node prints it ("OU=...\nCN=ARK-Milan"). */
export function commonName(dn: string): string | undefined {
  for (const line of dn.split('\n')) if (line.startsWith('CN=')) return line.slice(3);
  return undefined;
}

export function validity(c: X509Certificate, what: string): { notBefore: number; notAfter: number } {
  const nb = Date.parse(c.validFrom);
  const na = Date.parse(c.validTo);
  if (!Number.isFinite(nb) || !Number.isFinite(na))
    throw chainError('ERR_SNP_CHAIN_INVALID', `${what}: unreadable validity dates`);
  return { notBefore: Math.floor(nb / 1000), notAfter: Math.floor(na / 1000) };
}

export function iso(s: number): string {
  return new Date(s * 1000).toISOString();
}
