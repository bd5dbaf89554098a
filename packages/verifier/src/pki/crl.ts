/**
 * CRL parsing and checks (RFC 5280 §5). Parsing walks the DER by hand and leaves the revoked
 * list unparsed: `isRevoked` scans it for one serial on demand, which keeps large PCK CRLs cheap.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual, CertificateError } from '@ratls/evidence';
import { bitString, KU_CRL_SIGN, nameCn, type ParsedCertificate } from './certificate.js';
import type { ErrorCtor } from './chain.js';
import { children, type DerNode, expectTlv, readOid, readTime, readTlv, whole } from './der.js';
import { ecdsaHash, verifyEcdsaDer } from './keys.js';

/** CRLs larger than this are refused (real Intel PCK CRLs are a few KiB). */
export const MAX_CRL_BYTES = 2 * 1024 * 1024;

export interface ParsedCrl {
  der: Uint8Array;
  tbs: Uint8Array;
  signatureAlgorithm: string;
  signature: Uint8Array;
  issuerRaw: Uint8Array;
  issuerCn: string;
  thisUpdate: number;
  /** Unix seconds; undefined when the CRL has none (refused by `checkCrl`). */
  nextUpdate?: number;
  /** The revokedCertificates SEQUENCE, or undefined when empty. */
  revoked?: DerNode;
}

function bad(what: string): never {
  throw new CertificateError('ERR_CRL_MALFORMED', 'crl', `CRL: ${what}`);
}

/**
 * Parses a DER CRL. Throws `CertificateError` ERR_CRL_MALFORMED / ERR_DER_MALFORMED.
 * @example const crl = parseCrl(collateral.pckCrl)
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  if (der.length > MAX_CRL_BYTES) bad(`${der.length} bytes exceeds ${MAX_CRL_BYTES}`);
  const top = expectTlv(der, 0, der.length, 0x30, 'CertificateList');
  if (top.end !== der.length) bad('trailing bytes after CertificateList');
  const [tbsN, algN, sigN] = children(der, top);
  if (!tbsN || !algN || !sigN || tbsN.tag !== 0x30 || algN.tag !== 0x30) bad('expected tbs, algorithm, signature');
  const algOid = children(der, algN)[0];
  if (!algOid) bad('empty signatureAlgorithm');
  // Walk the TBS fields one at a time so the (possibly long) revoked list is not split.
  let p = tbsN.contentStart;
  const next = (): DerNode | undefined => {
    if (p >= tbsN.end) return undefined;
    const n = readTlv(der, p, tbsN.end);
    p = n.end;
    return n;
  };
  let n = next();
  if (n?.tag === 0x02) n = next(); // version
  if (!n || n.tag !== 0x30) bad('missing signature algorithm in TBS');
  const issuerN = next();
  if (!issuerN || issuerN.tag !== 0x30) bad('missing issuer');
  const thisN = next();
  if (!thisN) bad('missing thisUpdate');
  const thisUpdate = readTime(der, thisN);
  let nextUpdate: number | undefined;
  let revoked: DerNode | undefined;
  n = next();
  if (n && (n.tag === 0x17 || n.tag === 0x18)) {
    nextUpdate = readTime(der, n);
    n = next();
  }
  if (n && n.tag === 0x30) revoked = n;
  return {
    der,
    tbs: whole(der, tbsN),
    signatureAlgorithm: readOid(der, algOid),
    signature: bitString(der, sigN, 'CRL signature'),
    issuerRaw: whole(der, issuerN),
    issuerCn: nameCn(der, issuerN),
    thisUpdate,
    ...(nextUpdate !== undefined ? { nextUpdate } : {}),
    ...(revoked ? { revoked } : {}),
  };
}

/** Strips DER INTEGER leading zero bytes so serials compare by value. */
function trimSerial(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** True when `serial` (INTEGER content bytes) is listed in the CRL. */
export function isRevoked(crl: ParsedCrl, serial: Uint8Array): boolean {
  if (!crl.revoked) return false;
  const want = trimSerial(serial);
  const der = crl.der;
  let p = crl.revoked.contentStart;
  while (p < crl.revoked.end) {
    const entry = readTlv(der, p, crl.revoked.end);
    const s = readTlv(der, entry.contentStart, entry.end);
    if (s.tag !== 0x02) bad('revoked entry without serial');
    if (bytesEqual(trimSerial(der.subarray(s.contentStart, s.end)), want)) return true;
    p = entry.end;
  }
  return false;
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
    const nu = crl.nextUpdate === undefined ? 'none' : new Date(crl.nextUpdate * 1000).toISOString();
    throw new o.Err(
      'ERR_COLLATERAL_EXPIRED',
      o.step,
      `${o.what}: not valid at ${new Date(at * 1000).toISOString()} (thisUpdate ${new Date(crl.thisUpdate * 1000).toISOString()}, nextUpdate ${nu})`,
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
