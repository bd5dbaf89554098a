/**
 * Intel's signed collateral, shared by the TCB info and QE identity steps (QVL
 * `TCBSigningChain::verify`, then the signature; `PckCrlVerifier` on the Root CA CRL): the TCB
 * signing chain in its roles, the signer not revoked, the ECDSA signature over the exact JSON text
 * as received, and the issueDate/nextUpdate window at `at`.
 */
import type { KeyObject } from 'node:crypto';
import { CollateralError, type ErrorCode } from '@ratls/evidence';
import type { ParsedCertificate } from '../pki/certificate.js';
import { pemToDers } from '../pki/certificate.js';
import { anchorOf, type VerifiedChain, verifyChain } from '../pki/chain.js';
import { checkCrl, type ParsedCrl, parseCrlAt } from '../pki/crl.js';
import { verifyP256Raw } from '../pki/keys.js';
import { isoFromSeconds } from '../time.js';
import type { TrustAnchor } from '../trust.js';
import { checkTcbSignerRevocation } from './revocation.js';
import { checkTcbSignerRoles } from './roles.js';

/** PEM certificates as DER; ERR_CERT_MALFORMED (under `step`) for bad PEM. */
export function splitPem(pem: string, step: string, what: string): Uint8Array[] {
  try {
    return pemToDers(pem);
  } catch (e) {
    throw new CollateralError('ERR_CERT_MALFORMED', step, `${what}: ${(e as Error).message}`, { cause: e });
  }
}

/** issueDate <= at <= nextUpdate, else ERR_COLLATERAL_EXPIRED (QVL: STATUS_SGX_*_EXPIRED). */
export function checkWindow(issue: number, next: number, at: number, step: string, what: string): void {
  if (at < issue || at > next) {
    throw new CollateralError(
      'ERR_COLLATERAL_EXPIRED',
      step,
      `${what}: not valid at ${isoFromSeconds(at)} (issueDate ${isoFromSeconds(issue)}, nextUpdate ${isoFromSeconds(next)})`,
    );
  }
}

/** A Root CA CRL whose signature by `anchor` and freshness at `at` were checked. */
export interface VerifiedRootCrl {
  anchor: TrustAnchor;
  crl: ParsedCrl;
}

/**
 * Step: the Root CA CRL (QVL `PckCrlVerifier` on the root CRL): signed by the anchor, current at `at`.
 * Codes: ERR_CRL_*, ERR_COLLATERAL_EXPIRED.
 * @example const { crl } = verifyRootCaCrl(c.rootCaCrl, intelSgxRootCa(), at)
 */
export function verifyRootCaCrl(der: Uint8Array, anchor: TrustAnchor, at: number): VerifiedRootCrl {
  const o = { Err: CollateralError, step: 'crl', what: 'Root CA CRL' };
  const root = anchorOf(anchor);
  const crl = parseCrlAt(der, o);
  checkCrl(crl, root.cert, root.key, at, o);
  return { anchor, crl };
}

/**
 * Intel's signed-JSON collateral (QVL `TCBSigningChain::verify`, then the signature): the issuer
 * chain is exactly the TCB Signing certificate and the pinned root, each in its role
 * (`checkTcbSignerRoles`); the signer is not on the Root CA CRL (STATUS_SGX_TCB_SIGNING_CERT_REVOKED);
 * the ECDSA signature covers the exact JSON text as received (never re-serialized). `chain` and
 * `rootCrl`, when given, were verified by an earlier call with the same inputs.
 */
export function verifySignedJson(
  json: string,
  signature: Uint8Array,
  issuerChainPem: string,
  o: {
    anchors: readonly TrustAnchor[];
    at: number;
    rootCaCrl: Uint8Array;
    chain: VerifiedChain | undefined;
    rootCrl: VerifiedRootCrl | undefined;
    step: string;
    what: string;
    code: ErrorCode;
  },
): { chain: VerifiedChain; rootCrl: VerifiedRootCrl } {
  const ctx = { Err: CollateralError, step: o.step, what: `${o.what} issuer chain` };
  let ch = o.chain;
  if (!ch) {
    const ders = splitPem(issuerChainPem, o.step, ctx.what);
    // Exactly two as sent: a lone signer would otherwise be completed with the anchor.
    if (ders.length !== 2) {
      throw new CollateralError(
        'ERR_TCB_SIGNER_ROLE',
        o.step,
        `${ctx.what}: ${ders.length} certificate(s); Intel's TCB signing chain is exactly the TCB Signing certificate and the root`,
      );
    }
    ch = verifyChain(ders, {
      anchors: o.anchors,
      at: o.at,
      ...ctx,
      checkRoles: (certs, anchor) => checkTcbSignerRoles(certs, anchor, ctx),
    });
  }
  const signer = ch.certs[0] as ParsedCertificate;
  const rootCrl = o.rootCrl?.anchor === ch.anchor ? o.rootCrl : verifyRootCaCrl(o.rootCaCrl, ch.anchor, o.at);
  checkTcbSignerRevocation(signer, rootCrl.crl, o.step);
  if (!verifyP256Raw(Buffer.from(json, 'utf8'), ch.keys[0] as KeyObject, signature)) {
    throw new CollateralError(
      o.code,
      o.step,
      `${o.what}: signature does not verify with "${signer.subjectCn}" over the exact signed JSON`,
    );
  }
  return { chain: ch, rootCrl };
}

/** One piece of Intel's signed JSON collateral, and how its step reads and names it. */
export interface SignedCollateral<T> {
  json: string;
  signature: Uint8Array;
  issuerChainPem: string;
  parse: (json: string) => T;
  step: string;
  what: string;
  /** Code for a signature that does not verify. */
  code: ErrorCode;
}

/**
 * Signature (`verifySignedJson`), then the strict parse, then issueDate <= at <= nextUpdate: the
 * sequence TCB info and QE identity share. `chain`/`rootCrl` are reused when already verified.
 * @example const { value } = verifySignedCollateral({ json, signature, issuerChainPem, parse: parseQeIdentity, step: 'qe-identity', what: 'QE identity', code: 'ERR_QE_IDENTITY_SIGNATURE' }, { anchors, at, rootCaCrl })
 */
export function verifySignedCollateral<T extends { issueDate: number; nextUpdate: number }>(
  s: SignedCollateral<T>,
  o: {
    anchors: readonly TrustAnchor[];
    at: number;
    rootCaCrl: Uint8Array;
    chain?: VerifiedChain | undefined;
    rootCrl?: VerifiedRootCrl | undefined;
  },
): { value: T; chain: VerifiedChain; rootCrl: VerifiedRootCrl } {
  const v = verifySignedJson(s.json, s.signature, s.issuerChainPem, {
    ...o,
    chain: o.chain,
    rootCrl: o.rootCrl,
    step: s.step,
    what: s.what,
    code: s.code,
  });
  const value = s.parse(s.json);
  checkWindow(value.issueDate, value.nextUpdate, o.at, s.step, s.what);
  return { value, ...v };
}
