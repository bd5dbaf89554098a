import type { KeyObject, X509Certificate } from 'node:crypto';
import { bytesEqual, certificateParts, type ErrorCode, type SnpProduct, snpProductFromName } from '@ratls/evidence';
import type { TrustAnchor } from '../trust.js';
import { chainError, commonName, iso, parseCert, validity } from './x509util.js';

export interface SnpChainInput {
  /** VCEK or VLEK, DER. */
  leaf: Uint8Array;
  /** ASK (for a VCEK) or ASVK (for a VLEK), DER. */
  intermediate: Uint8Array;
  /** ARK, DER. */
  root: Uint8Array;
}

export interface SnpChainOptions {
  /** Unix seconds. */
  at: number;
  /** Accepted ARKs. */
  anchors: TrustAnchor[];
  signingKey: 'vcek' | 'vlek';
  /** When given, the chain must be for this product line. */
  product?: SnpProduct;
}

export interface SnpChainResult {
  product: SnpProduct;
  leafKey: KeyObject;
  anchor: TrustAnchor;
  window: { notBefore: number; notAfter: number };
}

/**
 * AMD signs ARK, ASK/ASVK and VCEK/VLEK with RSASSA-PSS, SHA-384, salt 48 (VCEK spec #57230 §2.2;
 * RFC 4055 §3.1 parameters: hashAlgorithm [0] sha384, saltLength [2] INTEGER 48).
 */
const RSASSA_PSS = '1.2.840.113549.1.1.10';
const SHA384_OID_DER = Buffer.from('0609608648016503040202', 'hex');
const SALT_48_DER = Buffer.from('a203020130', 'hex');

function signedWithPss384(c: X509Certificate): boolean {
  try {
    const alg = certificateParts(new Uint8Array(c.raw)).signatureAlgorithm;
    if (alg.oid !== RSASSA_PSS || !alg.params) return false;
    const params = Buffer.from(alg.params);
    return params.length < 128 && params.includes(SHA384_OID_DER) && params.includes(SALT_48_DER);
  } catch {
    return false;
  }
}

function checkSig(c: X509Certificate, issuer: X509Certificate, code: ErrorCode, what: string): void {
  let ok = false;
  try {
    ok = c.checkIssued(issuer) && c.verify(issuer.publicKey);
  } catch (e) {
    throw chainError(code, `${what}: signature check failed`, e);
  }
  if (!ok) throw chainError(code, `${what}: signature does not verify under its issuer (or the issuer name differs)`);
  if (!signedWithPss384(c))
    throw chainError(code, `${what}: not signed with RSASSA-PSS SHA-384 salt 48 as AMD certificates are`);
}

const selfIssued = (c: X509Certificate): boolean => c.subject === c.issuer;

/**
 * Each certificate in its own position (VCEK spec #57230 §2.1–2.2; KDS serves ARK and ASK with
 * basicConstraints cA TRUE, the VCEK without basicConstraints): the ARK is a self-signed CA; the
 * ASK/ASVK is a CA one level under it, not self-signed (an ARK where an ASK belongs is refused); the
 * VCEK/VLEK is an end entity (not a CA, not self-signed). Code: ERR_SNP_CHAIN_ROLE.
 */
function checkSnpRoles(
  ark: X509Certificate,
  ask: X509Certificate,
  leaf: X509Certificate,
  signingKey: 'vcek' | 'vlek',
): void {
  const askName = signingKey === 'vcek' ? 'ASK' : 'ASVK';
  const leafName = signingKey === 'vcek' ? 'VCEK' : 'VLEK';
  if (!ark.ca || !selfIssued(ark)) {
    throw chainError('ERR_SNP_CHAIN_ROLE', `ARK "${commonName(ark.subject)}" is not a self-signed CA certificate`);
  }
  if (selfIssued(ask)) {
    throw chainError(
      'ERR_SNP_CHAIN_ROLE',
      `${askName} position holds the self-signed "${commonName(ask.subject)}": a root where the intermediate belongs`,
    );
  }
  if (!ask.ca) {
    throw chainError('ERR_SNP_CHAIN_ROLE', `${askName} "${commonName(ask.subject)}" is not a CA certificate`);
  }
  if (leaf.ca || selfIssued(leaf)) {
    throw chainError(
      'ERR_SNP_CHAIN_ROLE',
      `${leafName} "${commonName(leaf.subject)}" is a CA or self-signed; the signing key certificate is an end entity`,
    );
  }
}

/**
 * Checks VCEK/VLEK ← ASK/ASVK ← ARK (AMD VCEK/KDS spec #57230 §2): the ARK is a configured anchor
 * and self-signed, each certificate holds the role of its position (ERR_SNP_CHAIN_ROLE), every signature is RSA-PSS and verifies, the names say the same product line
 * (ARK-<p>, SEV-<p> or SEV-VLEK-<p>, SEV-VCEK or SEV-VLEK), every certificate is valid at `at`,
 * and the leaf key is P-384.
 *
 * @example const { product, leafKey } = verifySnpChain({ leaf, intermediate, root }, { at, anchors, signingKey: 'vcek' })
 */
export function verifySnpChain(input: SnpChainInput, o: SnpChainOptions): SnpChainResult {
  const ark = parseCert(input.root, 'ARK');
  const ask = parseCert(input.intermediate, o.signingKey === 'vcek' ? 'ASK' : 'ASVK');
  const leaf = parseCert(input.leaf, o.signingKey === 'vcek' ? 'VCEK' : 'VLEK', 'ERR_SNP_VCEK_INVALID');

  const anchor = o.anchors.find((a) => bytesEqual(a.der, input.root));
  if (!anchor)
    throw chainError('ERR_SNP_ARK_UNTRUSTED', `ARK "${commonName(ark.subject)}" is not a configured trust anchor`);

  checkSnpRoles(ark, ask, leaf, o.signingKey);

  // Product line: from the ARK name; intermediate and leaf must agree, and so must the caller.
  const arkCn = commonName(ark.subject) ?? '';
  const product = /^ARK-/.test(arkCn) ? snpProductFromName(arkCn) : undefined;
  if (!product)
    throw chainError(
      'ERR_SNP_CHAIN_INVALID',
      `ARK CN "${arkCn}" does not name a product line (ARK-Milan, ARK-Genoa, ARK-Turin)`,
    );
  if (o.product && o.product !== product) {
    throw chainError('ERR_SNP_PRODUCT_MISMATCH', `certificate chain is for ${product}, but ${o.product} was requested`);
  }
  const askCn = commonName(ask.subject) ?? '';
  const wantAsk = o.signingKey === 'vcek' ? `SEV-${product}` : `SEV-VLEK-${product}`;
  if (askCn !== wantAsk) {
    const code =
      snpProductFromName(askCn) && snpProductFromName(askCn) !== product
        ? 'ERR_SNP_PRODUCT_MISMATCH'
        : 'ERR_SNP_CHAIN_INVALID';
    throw chainError(
      code,
      `intermediate CN is "${askCn}", expected "${wantAsk}" for a ${o.signingKey.toUpperCase()} chain`,
    );
  }
  const leafCn = commonName(leaf.subject) ?? '';
  const wantLeaf = o.signingKey === 'vcek' ? 'SEV-VCEK' : 'SEV-VLEK';
  if (leafCn !== wantLeaf) {
    throw chainError(
      'ERR_SNP_SIGNING_KEY_MISMATCH',
      `signing certificate CN is "${leafCn}", but the report says it is signed by a ${wantLeaf.slice(4)}`,
    );
  }
  const leafIssuer = commonName(leaf.issuer) ?? '';
  if (leafIssuer !== askCn) {
    const code =
      snpProductFromName(leafIssuer) && snpProductFromName(leafIssuer) !== product
        ? 'ERR_SNP_PRODUCT_MISMATCH'
        : 'ERR_SNP_CHAIN_INVALID';
    throw chainError(code, `${wantLeaf.slice(4)} was issued by "${leafIssuer}", not by this chain's "${askCn}"`);
  }

  checkSig(ark, ark, 'ERR_SNP_ARK_SIGNATURE', `ARK-${product} (self-signed)`);
  checkSig(ask, ark, 'ERR_SNP_ASK_SIGNATURE', `${askCn} by ARK-${product}`);
  checkSig(leaf, ask, 'ERR_SNP_VCEK_SIGNATURE', `${leafCn} by ${askCn}`);

  let notBefore = Number.NEGATIVE_INFINITY;
  let notAfter = Number.POSITIVE_INFINITY;
  for (const [c, name] of [
    [ark, arkCn],
    [ask, askCn],
    [leaf, leafCn],
  ] as const) {
    const v = validity(c, name);
    if (o.at < v.notBefore || o.at > v.notAfter) {
      throw chainError(
        'ERR_SNP_CERT_EXPIRED',
        `${name} is valid ${iso(v.notBefore)} to ${iso(v.notAfter)}, not at ${iso(o.at)}`,
      );
    }
    notBefore = Math.max(notBefore, v.notBefore);
    notAfter = Math.min(notAfter, v.notAfter);
  }
  const key = leaf.publicKey;
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'secp384r1') {
    throw chainError('ERR_SNP_VCEK_INVALID', `${leafCn} key is not EC P-384`);
  }
  return { product, leafKey: key, anchor, window: { notBefore, notAfter } };
}
