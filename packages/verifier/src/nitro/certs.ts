import type { KeyObject, X509Certificate } from 'node:crypto';
import { AppraisalError, bytesEqual, nodeCertificateFromDer, parseX509, RatlsError } from '@ratls/evidence';
import { isoFromSeconds, secondsFromMs } from '../time.js';
import type { TrustAnchor } from '../trust.js';

const STEP = 'nitro-chain';

export interface NitroChainResult {
  leafKey: KeyObject;
  anchor: TrustAnchor;
  window: { notBefore: number; notAfter: number };
}

/**
 * Strict DER (`parseX509`), then Node's view of exactly those bytes (`nodeCertificateFromDer`):
 * `new X509Certificate(Buffer)` would read a PEM block hidden inside the DER instead.
 */
function parse(der: Uint8Array, what: string): X509Certificate {
  try {
    parseX509(der);
    return nodeCertificateFromDer(der);
  } catch (e) {
    const why = e instanceof RatlsError ? ` (${e.code}: ${e.message})` : '';
    throw new AppraisalError(
      'ERR_NITRO_CERT_INVALID',
      STEP,
      `nitro certificate chain: ${what} is not a parseable X.509 certificate${why}`,
      { cause: e },
    );
  }
}

function secs(s: string, what: string): number {
  const t = Date.parse(s);
  if (!Number.isFinite(t))
    throw new AppraisalError(
      'ERR_NITRO_CERT_INVALID',
      STEP,
      `nitro certificate chain: ${what} has an unreadable validity date "${s}"`,
    );
  return secondsFromMs(t);
}

/**
 * Each certificate in its own position (AWS Nitro Enclaves "Verifying the root of trust": cabundle is
 * root first, then intermediates, then the document's certificate): only cabundle[0] may be
 * self-signed, no certificate appears twice, and the leaf is an end entity (not a CA). A root or CA
 * certificate that is valid in its own place is refused in the leaf's or an intermediate's.
 * Code: ERR_NITRO_CHAIN_ROLE. (A non-CA intermediate stays ERR_NITRO_CHAIN, checked with the links.)
 */
function checkNitroRoles(ders: Uint8Array[], certs: X509Certificate[], name: (i: number) => string): void {
  for (let i = 1; i < certs.length; i++) {
    const c = certs[i] as X509Certificate;
    if (c.subject === c.issuer) {
      throw new AppraisalError(
        'ERR_NITRO_CHAIN_ROLE',
        STEP,
        `nitro certificate chain: ${name(i)} is self-signed: a root where ${i === certs.length - 1 ? 'the leaf' : 'an intermediate'} belongs`,
      );
    }
    for (let j = 0; j < i; j++) {
      if (bytesEqual(ders[i] as Uint8Array, ders[j] as Uint8Array)) {
        throw new AppraisalError(
          'ERR_NITRO_CHAIN_ROLE',
          STEP,
          `nitro certificate chain: ${name(i)} repeats ${name(j)}`,
        );
      }
    }
  }
  const leaf = certs[certs.length - 1] as X509Certificate;
  if (leaf.ca)
    throw new AppraisalError(
      'ERR_NITRO_CHAIN_ROLE',
      STEP,
      'nitro certificate chain: leaf certificate is a CA certificate; it must be an end entity',
    );
}

/**
 * Checks leaf ← cabundle[n-1] ← … ← cabundle[0], cabundle[0] byte-equal to a trust anchor, every
 * certificate valid at `at` (unix seconds), every issuer a CA, each certificate in its position's
 * role (`checkNitroRoles`), the leaf key P-384 (AWS Nitro Enclaves
 * "Verifying the root of trust", steps 2–3).
 *
 * @example const { leafKey, window } = verifyNitroChain(doc.certificate, doc.cabundle, at, [awsNitroRootG1()])
 */
export function verifyNitroChain(
  leafDer: Uint8Array,
  cabundle: Uint8Array[],
  at: number,
  anchors: TrustAnchor[],
): NitroChainResult {
  const rootDer = cabundle[0];
  if (!rootDer) throw new AppraisalError('ERR_NITRO_CHAIN', STEP, 'nitro certificate chain: cabundle is empty');
  const anchor = anchors.find((a) => bytesEqual(a.der, rootDer));
  if (!anchor) {
    throw new AppraisalError(
      'ERR_NITRO_ROOT_UNTRUSTED',
      STEP,
      'nitro certificate chain: cabundle[0] is not a configured trust anchor (expected the AWS Nitro root G1)',
    );
  }
  const certs = [...cabundle.map((d, i) => parse(d, `cabundle[${i}]`)), parse(leafDer, 'leaf certificate')];
  const name = (i: number): string => (i === certs.length - 1 ? 'leaf certificate' : `cabundle[${i}]`);
  checkNitroRoles([...cabundle, leafDer], certs, name);
  let notBefore = Number.NEGATIVE_INFINITY;
  let notAfter = Number.POSITIVE_INFINITY;
  for (let i = 0; i < certs.length; i++) {
    const c = certs[i] as X509Certificate;
    const issuer = (i === 0 ? c : certs[i - 1]) as X509Certificate;
    if (i < certs.length - 1 && !c.ca)
      throw new AppraisalError('ERR_NITRO_CHAIN', STEP, `nitro certificate chain: ${name(i)} is not a CA certificate`);
    if (!c.checkIssued(issuer))
      throw new AppraisalError(
        'ERR_NITRO_CHAIN',
        STEP,
        `nitro certificate chain: ${name(i)} was not issued by ${name(i === 0 ? 0 : i - 1)}`,
      );
    // cabundle[0] is byte-equal to a configured anchor: trusted by configuration, its self-signature adds nothing.
    let ok = i === 0;
    try {
      ok ||= c.verify(issuer.publicKey);
    } catch (e) {
      throw new AppraisalError('ERR_NITRO_CHAIN', STEP, `nitro certificate chain: ${name(i)}: signature check failed`, {
        cause: e,
      });
    }
    if (!ok)
      throw new AppraisalError(
        'ERR_NITRO_CHAIN',
        STEP,
        `nitro certificate chain: ${name(i)} signature does not verify under ${name(i === 0 ? 0 : i - 1)}`,
      );
    const nb = secs(c.validFrom, name(i));
    const na = secs(c.validTo, name(i));
    if (at < nb || at > na) {
      throw new AppraisalError(
        'ERR_NITRO_CERT_EXPIRED',
        STEP,
        `nitro certificate chain: ${name(i)} is valid ${isoFromSeconds(nb)} to ${isoFromSeconds(na)}, not at ${isoFromSeconds(at)}`,
      );
    }
    notBefore = Math.max(notBefore, nb);
    notAfter = Math.min(notAfter, na);
  }
  const leaf = certs[certs.length - 1] as X509Certificate;
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw new AppraisalError(
      'ERR_NITRO_CERT_INVALID',
      STEP,
      'nitro certificate chain: leaf certificate key is not EC P-384',
    );
  }
  return { leafKey: key, anchor, window: { notBefore, notAfter } };
}
