/**
 * CRL checks (RFC 5280 §5) over the one ASN.1 stack's `parseCrlDer`, which leaves the revoked
 * list unparsed: `isRevoked` scans it for one serial on demand, which keeps large PCK CRLs cheap.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual, CertificateError, CRL_MAX_BYTES, type CrlParts, crlRevokes, parseCrlDer } from '@ratls/evidence';
import { isoFromSeconds } from '../time.js';
import { KU_CRL_SIGN, type ParsedCertificate } from './certificate.js';
import type { ErrorCtor } from './chain.js';
import { ecdsaHash, verifyEcdsaDer } from './keys.js';

/** CRLs larger than this are refused (real Intel PCK CRLs are a few KiB). */
export const MAX_CRL_BYTES = CRL_MAX_BYTES;

export type ParsedCrl = CrlParts;

/**
 * Parses a DER CRL with the one ASN.1 stack. Throws `CertificateError` ERR_CRL_MALFORMED / ERR_DER_MALFORMED.
 * @example const crl = parseCrl(collateral.pckCrl)
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  if (der.length > MAX_CRL_BYTES) {
    throw new CertificateError('ERR_CRL_MALFORMED', 'crl', `CRL: ${der.length} bytes exceeds ${MAX_CRL_BYTES}`);
  }
  return parseCrlDer(der);
}

/**
 * True when `serial` (INTEGER content bytes) is listed in the CRL.
 * @example isRevoked(crl, leaf.serial)
 */
export function isRevoked(crl: ParsedCrl, serial: Uint8Array): boolean {
  return crlRevokes(crl, serial);
}

/**
 * Checks a CRL against its issuer at time `at`: issuer name, signature, thisUpdate ≤ at ≤
 * nextUpdate (and, when the issuer has keyUsage, cRLSign). Codes: ERR_CRL_ISSUER_MISMATCH,
 * ERR_CRL_SIGNATURE, ERR_COLLATERAL_EXPIRED.
 */
export function checkCrl(
  crl: ParsedCrl,
  issuer: ParsedCertificate,
  issuerKey: KeyObject,
  at: number,
  o: { Err: ErrorCtor; step: string; what: string },
): void {
  if (!bytesEqual(crl.issuerRaw, issuer.subjectRaw)) {
    throw new o.Err(
      'ERR_CRL_ISSUER_MISMATCH',
      o.step,
      `${o.what}: issued by "${crl.issuerCn}", expected "${issuer.subjectCn}"`,
    );
  }
  if (issuer.keyUsage !== undefined && !(issuer.keyUsage & (1 << KU_CRL_SIGN))) {
    throw new o.Err('ERR_CRL_ISSUER_MISMATCH', o.step, `${o.what}: "${issuer.subjectCn}" may not sign CRLs (keyUsage)`);
  }
  const hash = ecdsaHash(crl.signatureAlgorithm);
  if (!hash || !verifyEcdsaDer(hash, crl.tbs, issuerKey, crl.signature)) {
    throw new o.Err('ERR_CRL_SIGNATURE', o.step, `${o.what}: signature does not verify with "${issuer.subjectCn}"`);
  }
  if (crl.nextUpdate === undefined || at < crl.thisUpdate || at > crl.nextUpdate) {
    const nu = crl.nextUpdate === undefined ? 'none' : isoFromSeconds(crl.nextUpdate);
    throw new o.Err(
      'ERR_COLLATERAL_EXPIRED',
      o.step,
      `${o.what}: not valid at ${isoFromSeconds(at)} (thisUpdate ${isoFromSeconds(crl.thisUpdate)}, nextUpdate ${nu})`,
    );
  }
}

/** Parses with errors re-thrown as `Err` ERR_CRL_MALFORMED at this step. */
export function parseCrlAt(der: Uint8Array, o: { Err: ErrorCtor; step: string; what: string }): ParsedCrl {
  try {
    return parseCrl(der);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new o.Err('ERR_CRL_MALFORMED', o.step, `${o.what}: ${msg}`, { cause: e });
  }
}
