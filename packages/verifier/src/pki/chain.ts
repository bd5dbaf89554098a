/**
 * Certificate chain verification to a pinned trust anchor (RFC 5280 §6, reduced to what DCAP,
 * SNP and Nitro chains need): the root must be byte-equal to a configured anchor; each other
 * certificate must be signed by the next, name it as issuer, and that issuer must be a CA; every
 * certificate, root included, must be valid at `at`. The root's self-signature is not checked: it
 * is pinned by its bytes.
 */
import type { KeyObject } from 'node:crypto';
import { bytesEqual, type ErrorCode, type RatlsError } from '@ratls/evidence';
import { deepFreeze } from '../freeze.js';
import { isoFromSeconds } from '../time.js';
import type { TrustAnchor } from '../trust.js';
import {
  KNOWN_CRITICAL_EXTENSIONS,
  KU_KEY_CERT_SIGN,
  type ParsedCertificate,
  parseCertificate,
} from './certificate.js';
import { certificateKey, ecdsaHash, verifyEcdsaDer } from './keys.js';

export type ErrorCtor = new (
  code: ErrorCode,
  step: string,
  message: string,
  options?: { cause?: unknown },
) => RatlsError;

export interface VerifiedChain {
  /** Leaf first, trust anchor last. */
  certs: ParsedCertificate[];
  /** Public key of each certificate, same order. */
  keys: KeyObject[];
  anchor: TrustAnchor;
  /** Intersection of the certificates' validity periods (unix seconds). */
  notBefore: number;
  notAfter: number;
}

export interface ChainOptions {
  anchors: readonly TrustAnchor[];
  /** Unix seconds. */
  at: number;
  step: string;
  /** Error class for failures (AppraisalError for evidence, CollateralError for collateral). */
  Err: ErrorCtor;
  /** What the chain is, for messages ("PCK chain"). */
  what: string;
  maxLength?: number;
  /**
   * Positional role rules (which certificate may stand where), run once the chain is complete and
   * before any signature is checked, so a certificate in the wrong place is named as such.
   */
  checkRoles?: (certs: readonly ParsedCertificate[], anchor: TrustAnchor) => void;
}

interface AnchorMaterial {
  cert: ParsedCertificate;
  key: KeyObject;
}
// A pure derivation of each configured anchor (its parsed form and imported key), not a cache of
// any verification outcome: anchors are immutable and pinned by their bytes.
const anchorMaterial = new WeakMap<TrustAnchor, AnchorMaterial>();

/** Parsed certificate and public key of a trust anchor (memoized per anchor object). */
export function anchorOf(anchor: TrustAnchor): AnchorMaterial {
  let m = anchorMaterial.get(anchor);
  if (!m) {
    // Frozen once here (and registered by the walk as done): every verified chain and collateral
    // reaches the anchor's certificate, and the freeze of each would otherwise walk it again.
    const cert = deepFreeze(parseCertificate(anchor.der), false);
    m = { cert, key: certificateKey(cert) };
    anchorMaterial.set(anchor, m);
  }
  return m;
}

/** Checks `at` against a certificate's validity; throws `Err` ERR_CERT_EXPIRED. */
export function checkValidity(
  cert: ParsedCertificate,
  at: number,
  o: Pick<ChainOptions, 'Err' | 'step' | 'what'>,
): void {
  if (at < cert.notBefore || at > cert.notAfter) {
    throw new o.Err(
      'ERR_CERT_EXPIRED',
      o.step,
      `${o.what}: certificate "${cert.subjectCn}" is not valid at ${isoFromSeconds(at)} (valid ${isoFromSeconds(cert.notBefore)} to ${isoFromSeconds(cert.notAfter)})`,
    );
  }
}

/** Verifies that `cert` was signed by `issuerKey`; throws `Err` ERR_CERT_SIGNATURE. */
export function checkSignedBy(
  cert: ParsedCertificate,
  issuer: ParsedCertificate,
  issuerKey: KeyObject,
  o: Pick<ChainOptions, 'Err' | 'step' | 'what'>,
): void {
  if (!bytesEqual(cert.issuerRaw, issuer.subjectRaw)) {
    throw new o.Err(
      'ERR_CHAIN_ISSUER_MISMATCH',
      o.step,
      `${o.what}: issuer of "${cert.subjectCn}" is "${cert.issuerCn}", but the next certificate is "${issuer.subjectCn}"`,
    );
  }
  if (!issuer.isCa || (issuer.keyUsage !== undefined && !(issuer.keyUsage & (1 << KU_KEY_CERT_SIGN)))) {
    throw new o.Err(
      'ERR_CHAIN_NOT_CA',
      o.step,
      `${o.what}: issuer "${issuer.subjectCn}" is not a CA certificate allowed to sign certificates`,
    );
  }
  const hash = ecdsaHash(cert.signatureAlgorithm);
  if (!hash) {
    throw new o.Err(
      'ERR_CERT_ALGORITHM',
      o.step,
      `${o.what}: "${cert.subjectCn}" uses unsupported signature algorithm ${cert.signatureAlgorithm}`,
    );
  }
  if (!verifyEcdsaDer(hash, cert.tbs, issuerKey, cert.signature)) {
    throw new o.Err(
      'ERR_CERT_SIGNATURE',
      o.step,
      `${o.what}: signature on "${cert.subjectCn}" does not verify with the key of "${issuer.subjectCn}"`,
    );
  }
}

/** Parses DER with errors re-thrown as `Err` ERR_CERT_MALFORMED at this step. */
export function parseCertAt(der: Uint8Array, o: Pick<ChainOptions, 'Err' | 'step' | 'what'>): ParsedCertificate {
  try {
    return parseCertificate(der);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new o.Err('ERR_CERT_MALFORMED', o.step, `${o.what}: ${msg}`, { cause: e });
  }
}

/** Finds the anchor byte-equal to `root`. */
export function findAnchor(root: Uint8Array, anchors: readonly TrustAnchor[]): TrustAnchor | undefined {
  for (const a of anchors) if (a.der.length === root.length && bytesEqual(a.der, root)) return a;
  return undefined;
}

/**
 * Verifies a chain (leaf first). When the chain stops below the root, the anchor whose subject is
 * the last certificate's issuer completes it.
 * @example const { anchor, keys } = verifyChain(pemToDers(pem), { anchors: defaultTrustAnchors(), at, step: 'pck-chain', Err: AppraisalError, what: 'PCK chain' })
 */
export function verifyChain(ders: readonly Uint8Array[], o: ChainOptions): VerifiedChain {
  const max = o.maxLength ?? 5;
  if (ders.length === 0) throw new o.Err('ERR_CHAIN_EMPTY', o.step, `${o.what}: no certificates`);
  if (ders.length > max)
    throw new o.Err('ERR_CHAIN_TOO_LONG', o.step, `${o.what}: ${ders.length} certificates (max ${max})`);
  // A certificate byte-equal to a configured anchor is the anchor: reuse its parsed form.
  const certs = ders.map((d) => {
    const a = findAnchor(d, o.anchors);
    return a ? anchorOf(a).cert : parseCertAt(d, o);
  });
  const last = certs[certs.length - 1] as ParsedCertificate;
  let anchor = findAnchor(last.der, o.anchors);
  if (!anchor) {
    // Chain without its root: complete it with the anchor that issued the last certificate.
    anchor = o.anchors.find((a) => bytesEqual(anchorOf(a).cert.subjectRaw, last.issuerRaw));
    if (!anchor || bytesEqual(last.issuerRaw, last.subjectRaw)) {
      throw new o.Err(
        'ERR_UNTRUSTED_ROOT',
        o.step,
        `${o.what}: root "${last.issuerCn}" is not one of the ${o.anchors.length} configured trust anchor(s)`,
      );
    }
    certs.push(anchorOf(anchor).cert);
  }
  o.checkRoles?.(certs, anchor);
  const root = anchorOf(anchor);
  const keys: KeyObject[] = new Array(certs.length);
  keys[certs.length - 1] = root.key;
  let notBefore = -Infinity;
  let notAfter = Infinity;
  for (const c of certs) {
    checkValidity(c, o.at, o);
    for (const [oid, ext] of c.extensions) {
      if (ext.critical && !KNOWN_CRITICAL_EXTENSIONS.has(oid)) {
        throw new o.Err(
          'ERR_CERT_CRITICAL_EXTENSION',
          o.step,
          `${o.what}: "${c.subjectCn}" has an unrecognised critical extension ${oid} (RFC 5280 §4.2)`,
        );
      }
    }
    if (c.notBefore > notBefore) notBefore = c.notBefore;
    if (c.notAfter < notAfter) notAfter = c.notAfter;
  }
  for (let i = certs.length - 2; i >= 0; i--) {
    const c = certs[i] as ParsedCertificate;
    checkSignedBy(c, certs[i + 1] as ParsedCertificate, keys[i + 1] as KeyObject, o);
    try {
      keys[i] = certificateKey(c);
    } catch (e) {
      throw new o.Err('ERR_KEY_INVALID', o.step, `${o.what}: "${c.subjectCn}" has an unusable public key`, {
        cause: e,
      });
    }
  }
  return { certs, keys, anchor, notBefore, notAfter };
}
