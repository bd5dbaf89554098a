/**
 * Step: the PCK certificate chain from the quote's certification data (type 5, PEM, leaf first;
 * QVL 4.1.2.4.2–4.1.2.4.4) up to a configured trust anchor, valid at `at`, and the SGX extension
 * of the leaf.
 */
import type { KeyObject } from 'node:crypto';
import { AppraisalError, type Quote } from '@ratls/evidence';
import type { CollateralRequest } from '../collateral/types.js';
import { type ParsedCertificate, pemToDers } from '../pki/certificate.js';
import { type VerifiedChain, verifyChain } from '../pki/chain.js';
import type { TrustAnchor } from '../trust.js';
import { type PckExtensions, parsePckExtensions } from './pck-extensions.js';
import { checkPckChainRoles } from './roles.js';
import { registerVerifiedPck } from './verified-inputs.js';

export interface VerifiedPck {
  chain: VerifiedChain;
  leaf: ParsedCertificate;
  leafKey: KeyObject;
  ca: ParsedCertificate;
  caKey: KeyObject;
  ext: PckExtensions;
  pckCa: CollateralRequest['pckCa'];
}

const STEP = 'pck-chain';

/** The PCK chain PEM text of a parsed quote; ERR_UNSUPPORTED_CERTIFICATION_DATA when absent. */
export function pckChainPemOf(quote: Quote): string {
  const pem = quote.signatureData.pckChainPem;
  if (pem === undefined) {
    throw new AppraisalError(
      'ERR_UNSUPPORTED_CERTIFICATION_DATA',
      STEP,
      `quote: certification data type ${quote.signatureData.certification.type} carries no PCK chain (type 5 is required)`,
    );
  }
  return pem;
}

/** Processor or Platform CA, from the intermediate's CN (Intel PCK profile §1.2). */
export function pckCaKind(ca: ParsedCertificate): CollateralRequest['pckCa'] {
  if (ca.subjectCn.includes('Processor CA')) return 'processor';
  if (ca.subjectCn.includes('Platform CA')) return 'platform';
  throw new AppraisalError(
    'ERR_PCK_CA_UNKNOWN',
    STEP,
    `PCK chain: intermediate "${ca.subjectCn}" is neither a PCK Processor CA nor a PCK Platform CA`,
  );
}

/**
 * Verifies the PCK chain text: each certificate in its role (`checkPckChainRoles`: leaf not a CA,
 * PCK CA with pathLen 0, exact names), then signatures and validity. Codes: ERR_UNTRUSTED_ROOT,
 * ERR_CERT_SIGNATURE, ERR_CERT_EXPIRED, ERR_CHAIN_*, ERR_CERT_MALFORMED, ERR_PCK_CHAIN_LENGTH,
 * ERR_PCK_CHAIN_ROLE, ERR_PCK_CERT_INVALID, ERR_PCK_CA_UNKNOWN, ERR_PCK_EXTENSION.
 * @example const pck = verifyPckChain(quote.signatureData.pckChainPem, defaultTrustAnchors(), at)
 */
export function verifyPckChain(pem: string, anchors: readonly TrustAnchor[], at: number): VerifiedPck {
  let ders: Uint8Array[];
  try {
    ders = pemToDers(pem);
  } catch (e) {
    throw new AppraisalError('ERR_CERT_MALFORMED', STEP, `PCK chain: ${(e as Error).message}`, { cause: e });
  }
  const ctx = { step: STEP, Err: AppraisalError, what: 'PCK chain' };
  const chain = verifyChain(ders, {
    anchors,
    at,
    ...ctx,
    checkRoles: (certs, anchor) => checkPckChainRoles(certs, anchor, ctx),
  });
  const leaf = chain.certs[0] as ParsedCertificate;
  const ca = chain.certs[1] as ParsedCertificate;
  return registerVerifiedPck({
    chain,
    leaf,
    leafKey: chain.keys[0] as KeyObject,
    ca,
    caKey: chain.keys[1] as KeyObject,
    ext: parsePckExtensions(leaf),
    pckCa: pckCaKind(ca),
  });
}
