/**
 * Collateral verification, independent of any quote (Intel QVL `sgxAttestationVerifyTCBInfo`,
 * `…VerifyEnclaveIdentity`, `…VerifyPCKRevocationList`): the TCB signing chain to a trust anchor,
 * the TCB info and QE identity signatures over their exact signed JSON text, the Root CA CRL and
 * PCK CRL signatures, and every validity window at `at`. Its output can be cached until the
 * earliest nextUpdate; quote-specific checks live in `appraise.ts`.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual, CollateralError } from '@ratls/evidence';
import type { DcapCollateral } from '../collateral/types.js';
import type { ParsedCertificate } from '../pki/certificate.js';
import { pemToDers } from '../pki/certificate.js';
import { anchorOf, checkValidity, type VerifiedChain, verifyChain } from '../pki/chain.js';
import { checkCrl, type ParsedCrl, parseCrlAt } from '../pki/crl.js';
import { verifyP256Raw } from '../pki/keys.js';
import type { TrustAnchor } from '../trust.js';
import { parseQeIdentity, type QeIdentity } from './qe-identity.js';
import { parseTcbInfo, type TcbInfo } from './tcb-info.js';
import { registerVerifiedCollateral } from './verified-inputs.js';

export interface VerifiedCollateral {
  tcbInfo: TcbInfo;
  qeIdentity: QeIdentity;
  anchor: TrustAnchor;
  rootCrl: ParsedCrl;
  pckCrl: ParsedCrl;
  /** The PCK CA certificate that signed the PCK CRL. */
  pckCrlIssuer: ParsedCertificate;
  /** Intersection of every certificate, CRL, TCB info and QE identity window (unix seconds). */
  notBefore: number;
  notAfter: number;
}

export interface KnownIssuer {
  cert: ParsedCertificate;
  key: KeyObject;
}

const iso = (t: number) => new Date(t * 1000).toISOString();

function splitPem(pem: string, step: string, what: string): Uint8Array[] {
  try {
    return pemToDers(pem);
  } catch (e) {
    throw new CollateralError('ERR_CERT_MALFORMED', step, `${what}: ${(e as Error).message}`, { cause: e });
  }
}

function checkWindow(issue: number, next: number, at: number, step: string, what: string): void {
  if (at < issue || at > next) {
    throw new CollateralError(
      'ERR_COLLATERAL_EXPIRED',
      step,
      `${what}: not valid at ${iso(at)} (issueDate ${iso(issue)}, nextUpdate ${iso(next)})`,
    );
  }
}

/**
 * Intel's signed-JSON collateral: the issuer chain to an anchor (unless the caller already verified
 * it), then the ECDSA signature over the exact JSON text as received (never re-serialized).
 */
function verifySignedJson(
  json: string,
  signature: Uint8Array,
  issuerChainPem: string,
  o: {
    anchors: readonly TrustAnchor[];
    at: number;
    chain: VerifiedChain | undefined;
    step: string;
    what: string;
    code: string;
  },
): VerifiedChain {
  const ch =
    o.chain ??
    verifyChain(splitPem(issuerChainPem, o.step, `${o.what} issuer chain`), {
      anchors: o.anchors,
      at: o.at,
      step: o.step,
      Err: CollateralError,
      what: `${o.what} issuer chain`,
    });
  if (!verifyP256Raw(Buffer.from(json, 'utf8'), ch.keys[0] as KeyObject, signature)) {
    throw new CollateralError(
      o.code,
      o.step,
      `${o.what}: signature does not verify with "${ch.certs[0]?.subjectCn}" over the exact signed JSON`,
    );
  }
  return ch;
}

/**
 * Step: TCB signing chain and TCB info signature (over the exact JSON text), validity at `at`.
 * Codes: chain codes (ERR_UNTRUSTED_ROOT, ERR_CERT_SIGNATURE, ERR_CERT_EXPIRED…), ERR_TCB_INFO_SIGNATURE,
 * ERR_TCB_INFO_MALFORMED, ERR_COLLATERAL_EXPIRED.
 */
export function verifyTcbInfo(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  chain?: VerifiedChain,
): { tcbInfo: TcbInfo; chain: VerifiedChain } {
  const step = 'tcb-info';
  const ch = verifySignedJson(c.tcbInfoJson, c.tcbInfoSignature, c.tcbInfoIssuerChainPem, {
    anchors,
    at,
    chain,
    step,
    what: 'TCB info',
    code: 'ERR_TCB_INFO_SIGNATURE',
  });
  const tcbInfo = parseTcbInfo(c.tcbInfoJson);
  checkWindow(tcbInfo.issueDate, tcbInfo.nextUpdate, at, step, 'TCB info');
  return { tcbInfo, chain: ch };
}

/** Step: QE identity chain and signature, validity at `at`. Codes as `verifyTcbInfo`, ERR_QE_IDENTITY_*. */
export function verifyQeIdentity(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  chain?: VerifiedChain,
): { qeIdentity: QeIdentity; chain: VerifiedChain } {
  const step = 'qe-identity';
  const ch = verifySignedJson(c.qeIdentityJson, c.qeIdentitySignature, c.qeIdentityIssuerChainPem, {
    anchors,
    at,
    chain,
    step,
    what: 'QE identity',
    code: 'ERR_QE_IDENTITY_SIGNATURE',
  });
  const qeIdentity = parseQeIdentity(c.qeIdentityJson);
  checkWindow(qeIdentity.issueDate, qeIdentity.nextUpdate, at, step, 'QE identity');
  return { qeIdentity, chain: ch };
}

/**
 * Step: Root CA CRL (signed by the anchor) and PCK CRL (signed by the PCK CA of its issuer chain),
 * both current at `at`. `known` lets a caller pass PCK CA certificates it has already verified
 * (the quote's own chain), so the same signature is not checked twice.
 */
export function verifyCrls(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  known: readonly KnownIssuer[] = [],
): {
  rootCrl: ParsedCrl;
  pckCrl: ParsedCrl;
  pckCrlIssuer: ParsedCertificate;
  anchor: TrustAnchor;
  notBefore: number;
  notAfter: number;
} {
  const step = 'crl';
  const o = { Err: CollateralError, step, what: 'PCK CRL issuer chain' };
  const ders = splitPem(c.pckCrlIssuerChainPem, step, 'PCK CRL issuer chain');
  let issuer: KnownIssuer;
  let anchor: TrustAnchor;
  let notBefore = -Infinity;
  let notAfter = Infinity;
  const hit = known.find((k) => bytesEqual(k.cert.der, ders[0] as Uint8Array));
  const pinned =
    hit && ders.length >= 2 ? anchors.find((a) => bytesEqual(a.der, ders[ders.length - 1] as Uint8Array)) : undefined;
  if (hit && pinned && ders.length === 2) {
    checkValidity(hit.cert, at, o);
    checkValidity(anchorOf(pinned).cert, at, o);
    issuer = hit;
    anchor = pinned;
    notBefore = Math.max(hit.cert.notBefore, anchorOf(pinned).cert.notBefore);
    notAfter = Math.min(hit.cert.notAfter, anchorOf(pinned).cert.notAfter);
  } else {
    const ch = verifyChain(ders, { anchors, at, ...o });
    issuer = { cert: ch.certs[0] as ParsedCertificate, key: ch.keys[0] as KeyObject };
    anchor = ch.anchor;
    notBefore = ch.notBefore;
    notAfter = ch.notAfter;
  }
  const root = anchorOf(anchor);
  const rootCrl = parseCrlAt(c.rootCaCrl, { Err: CollateralError, step, what: 'Root CA CRL' });
  checkCrl(rootCrl, root.cert, root.key, at, { Err: CollateralError, step, what: 'Root CA CRL' });
  const pckCrl = parseCrlAt(c.pckCrl, { Err: CollateralError, step, what: 'PCK CRL' });
  // QVL 4.1.2.4.6: the PCK CRL issuer must be a CA named like one.
  if (!pckCrl.issuerCn.includes('CA')) {
    throw new CollateralError('ERR_CRL_ISSUER_MISMATCH', step, `PCK CRL: issuer "${pckCrl.issuerCn}" is not a PCK CA`);
  }
  checkCrl(pckCrl, issuer.cert, issuer.key, at, { Err: CollateralError, step, what: 'PCK CRL' });
  for (const crl of [rootCrl, pckCrl]) {
    notBefore = Math.max(notBefore, crl.thisUpdate);
    notAfter = Math.min(notAfter, crl.nextUpdate as number);
  }
  return { rootCrl, pckCrl, pckCrlIssuer: issuer.cert, anchor, notBefore, notAfter };
}

/**
 * All quote-independent collateral checks at `at`; the result may be reused for any quote of the
 * same TEE, FMSPC and PCK CA while `at` stays inside [notBefore, notAfter].
 * @example const vc = verifyCollateral(collateralFromJson(text), defaultTrustAnchors(), at)
 */
export function verifyCollateral(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  known: readonly KnownIssuer[] = [],
): VerifiedCollateral {
  const t = verifyTcbInfo(c, anchors, at);
  // Intel ships the same TCB signing chain for both; verify it once when the text is identical.
  const q = verifyQeIdentity(
    c,
    anchors,
    at,
    c.qeIdentityIssuerChainPem === c.tcbInfoIssuerChainPem ? t.chain : undefined,
  );
  const crls = verifyCrls(c, anchors, at, known);
  if (q.chain.anchor !== t.chain.anchor || crls.anchor !== t.chain.anchor) {
    throw new CollateralError(
      'ERR_ANCHOR_MISMATCH',
      'collateral',
      'collateral: TCB info, QE identity and CRLs do not all chain to the same trust anchor',
    );
  }
  return registerVerifiedCollateral({
    tcbInfo: t.tcbInfo,
    qeIdentity: q.qeIdentity,
    anchor: t.chain.anchor,
    rootCrl: crls.rootCrl,
    pckCrl: crls.pckCrl,
    pckCrlIssuer: crls.pckCrlIssuer,
    notBefore: Math.max(
      t.chain.notBefore,
      q.chain.notBefore,
      crls.notBefore,
      t.tcbInfo.issueDate,
      q.qeIdentity.issueDate,
    ),
    notAfter: Math.min(
      t.chain.notAfter,
      q.chain.notAfter,
      crls.notAfter,
      t.tcbInfo.nextUpdate,
      q.qeIdentity.nextUpdate,
    ),
  });
}
