/**
 * Collateral verification, independent of any quote (Intel QVL `sgxAttestationVerifyTCBInfo`,
 * `…VerifyEnclaveIdentity`, `…VerifyPCKRevocationList`): the TCB signing chain to a trust anchor,
 * the TCB info and QE identity signatures over their exact signed JSON text, the Root CA CRL and
 * PCK CRL signatures, and every validity window at `at`. Its output can be cached until the
 * earliest nextUpdate; quote-specific checks live in `appraise.ts`. The QE identity step (parse,
 * signature, window, id and report match) is `qe-identity.ts`; the shared signed-JSON checks are
 * `signed-json.ts`.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual, CollateralError, RatlsError } from '@ratls/evidence';
import type { DcapCollateral } from '../collateral/types.js';
import type { ParsedCertificate } from '../pki/certificate.js';
import { anchorOf, checkValidity, type VerifiedChain, verifyChain } from '../pki/chain.js';
import { checkCrl, type ParsedCrl, parseCrlAt } from '../pki/crl.js';
import type { TrustAnchor } from '../trust.js';
import { type QeIdentity, verifyQeIdentity } from './qe-identity.js';
import { checkPckCaRole } from './roles.js';
import { splitPem, type VerifiedRootCrl, verifyRootCaCrl, verifySignedCollateral } from './signed-json.js';
import { type TcbEvaluationDataNumbers, verifyTcbEvaluationDataNumbers } from './tcb-eval-numbers.js';
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
  /** The verified TCB evaluation data numbers, when the collateral carried them and they verified. */
  tcbEvalNumbers?: TcbEvaluationDataNumbers;
  /** Why they are absent: ERR_TCB_EVAL_NUMBER_MISSING (not carried) or the verification's code. */
  tcbEvalNumbersError?: string;
}

/**
 * The signed TCB evaluation data numbers, when carried: verified like the TCB info, but their
 * failure only takes away the grace anchor (recorded), never the appraisal.
 */
function evalNumbers(
  c: DcapCollateral,
  tee: 'sgx' | 'tdx',
  anchor: TrustAnchor,
  at: number,
): { tcbEvalNumbers: TcbEvaluationDataNumbers } | { tcbEvalNumbersError: string } {
  if (!c.tcbEvaluationDataNumbers) return { tcbEvalNumbersError: 'ERR_TCB_EVAL_NUMBER_MISSING' };
  try {
    return {
      tcbEvalNumbers: verifyTcbEvaluationDataNumbers(c.tcbEvaluationDataNumbers, {
        tee,
        anchors: [anchor],
        rootCaCrl: c.rootCaCrl,
        at,
      }),
    };
  } catch (e) {
    return { tcbEvalNumbersError: e instanceof RatlsError ? e.code : 'ERR_TCB_EVAL_NUMBERS_MALFORMED' };
  }
}

export interface KnownIssuer {
  cert: ParsedCertificate;
  key: KeyObject;
}

/**
 * Step: TCB signing chain (signer role, Root CA CRL) and TCB info signature (over the exact JSON
 * text), validity at `at`. Codes: chain codes (ERR_UNTRUSTED_ROOT, ERR_CERT_SIGNATURE,
 * ERR_CERT_EXPIRED…), ERR_TCB_SIGNER_ROLE, ERR_TCB_SIGNER_REVOKED, ERR_CRL_*, ERR_TCB_INFO_SIGNATURE,
 * ERR_TCB_INFO_MALFORMED, ERR_COLLATERAL_EXPIRED.
 * @example const { tcbInfo } = verifyTcbInfo(collateralFromJson(text), defaultTrustAnchors(), at)
 */
export function verifyTcbInfo(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  chain?: VerifiedChain,
  rootCrl?: VerifiedRootCrl,
): { tcbInfo: TcbInfo; chain: VerifiedChain; rootCrl: VerifiedRootCrl } {
  const v = verifySignedCollateral(
    {
      json: c.tcbInfoJson,
      signature: c.tcbInfoSignature,
      issuerChainPem: c.tcbInfoIssuerChainPem,
      parse: parseTcbInfo,
      step: 'tcb-info',
      what: 'TCB info',
      code: 'ERR_TCB_INFO_SIGNATURE',
    },
    { anchors, at, rootCaCrl: c.rootCaCrl, chain, rootCrl },
  );
  return { tcbInfo: v.value, chain: v.chain, rootCrl: v.rootCrl };
}

/**
 * Step: Root CA CRL (signed by the anchor) and PCK CRL (signed by the PCK CA of its issuer chain,
 * which is exactly a PCK CA in its role and the root: ERR_PCK_CHAIN_ROLE, ERR_PCK_CA_UNKNOWN),
 * both current at `at`. `known` lets a caller pass PCK CA certificates it has already verified
 * (the quote's own chain), so the same signature is not checked twice; `verifiedRootCrl` does the
 * same for the Root CA CRL already checked with the TCB signing chain.
 * @example const { pckCrl } = verifyCrls(collateralFromJson(text), defaultTrustAnchors(), at)
 */
export function verifyCrls(
  c: DcapCollateral,
  anchors: readonly TrustAnchor[],
  at: number,
  known: readonly KnownIssuer[] = [],
  verifiedRootCrl?: VerifiedRootCrl,
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
    const ch = verifyChain(ders, {
      anchors,
      at,
      ...o,
      // The PCK CRL issuer chain is a PCK CA and the root (PCS `SGX-PCK-CRL-Issuer-Chain`).
      checkRoles: (certs, a) => {
        if (certs.length !== 2) {
          throw new CollateralError(
            'ERR_PCK_CHAIN_ROLE',
            step,
            `${o.what}: ${certs.length} certificates, expected PCK CA and root`,
          );
        }
        checkPckCaRole(certs[0] as ParsedCertificate, a, o);
      },
    });
    issuer = { cert: ch.certs[0] as ParsedCertificate, key: ch.keys[0] as KeyObject };
    anchor = ch.anchor;
    notBefore = ch.notBefore;
    notAfter = ch.notAfter;
  }
  const rootCrl = (verifiedRootCrl?.anchor === anchor ? verifiedRootCrl : verifyRootCaCrl(c.rootCaCrl, anchor, at)).crl;
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
    t.rootCrl,
  );
  const crls = verifyCrls(c, anchors, at, known, t.rootCrl);
  if (q.chain.anchor !== t.chain.anchor || crls.anchor !== t.chain.anchor) {
    throw new CollateralError(
      'ERR_ANCHOR_MISMATCH',
      'collateral',
      'collateral: TCB info, QE identity and CRLs do not all chain to the same trust anchor',
    );
  }
  return registerVerifiedCollateral({
    ...evalNumbers(c, t.tcbInfo.id === 'TDX' ? 'tdx' : 'sgx', t.chain.anchor, at),
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
