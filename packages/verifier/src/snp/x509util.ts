import type { X509Certificate } from 'node:crypto';
import {
  AppraisalError,
  type ErrorCode,
  nodeCertificateFromDer,
  parseX509,
  RatlsError,
  readPem,
  readPemOne,
} from '@ratls/evidence';
import { isoFromSeconds, secondsFromMs } from '../time.js';

/** AMD certificates are ~1.4 KiB (VCEK) to ~2 KiB (ARK, RSA-4096). */
export const SNP_MAX_CERT_DER = 8 * 1024;
export const SNP_MAX_CHAIN_PEM = 32 * 1024;

export function chainError(code: ErrorCode, msg: string, cause?: unknown): AppraisalError {
  return new AppraisalError(code, 'snp-chain', msg, cause === undefined ? undefined : { cause });
}

/**
 * DER or PEM → a node X509Certificate for exactly those bytes. PEM goes through the strict PEM
 * reader; the DER through the strict X.509 parser, then `nodeCertificateFromDer`, which is
 * byte-exact. Never `new X509Certificate(Buffer)`: it reads a PEM block hidden inside DER first,
 * so the TCB checks (outer DER) and the signature key (inner PEM) would come from two certificates.
 * @example const vcek = parseCert(vcekDer, 'VCEK', 'ERR_SNP_VCEK_INVALID')
 */
export function parseCert(
  input: Uint8Array | string,
  what: string,
  code: ErrorCode = 'ERR_SNP_CHAIN_INVALID',
): X509Certificate {
  const size = typeof input === 'string' ? input.length : input.length;
  if (size === 0 || size > SNP_MAX_CERT_DER * 2) throw chainError(code, `${what}: ${size} bytes is out of bounds`);
  try {
    const der = typeof input === 'string' ? readPemOne(input, 'CERTIFICATE', SNP_MAX_CERT_DER * 2) : input;
    parseX509(der, SNP_MAX_CERT_DER);
    return nodeCertificateFromDer(der);
  } catch (e) {
    const why = e instanceof RatlsError ? ` (${e.code}: ${e.message})` : '';
    throw chainError(code, `${what}: not a parseable X.509 certificate${why}`, e);
  }
}

/**
 * Splits PEM text into DER certificates, in order (strict `readPem`; nothing but CERTIFICATE blocks).
 * @example const [ask, ark] = splitPem(kdsChainPem, 'SNP certificate chain')
 */
export function splitPem(text: string, what: string): Uint8Array[] {
  if (text.length > SNP_MAX_CHAIN_PEM)
    throw chainError('ERR_SNP_CHAIN_INVALID', `${what}: ${text.length} characters is too long`);
  try {
    return readPem(text, { label: 'CERTIFICATE', maxChars: SNP_MAX_CHAIN_PEM });
  } catch (e) {
    throw chainError('ERR_SNP_CHAIN_INVALID', `${what}: ${(e as Error).message}`, e);
  }
}

/**
 * DER bytes from DER or PEM input (PEM: exactly one strict CERTIFICATE block).
 * @example const der = toDer(vcekPem, 'VCEK')
 */
export function toDer(input: Uint8Array | string, what: string): Uint8Array {
  if (typeof input !== 'string') return input;
  try {
    return readPemOne(input, 'CERTIFICATE', SNP_MAX_CERT_DER * 2);
  } catch (e) {
    throw chainError('ERR_SNP_VCEK_INVALID', `${what}: expected one PEM certificate (${(e as Error).message})`, e);
  }
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
  return { notBefore: secondsFromMs(nb), notAfter: secondsFromMs(na) };
}

export function iso(s: number): string {
  return isoFromSeconds(s);
}
