/**
 * Step: revocation (QVL 4.1.2.4.6–4.1.2.4.7). The Root CA CRL must not list the PCK CA; the PCK
 * CRL must be issued by the very PCK CA that issued the leaf (same name and key) and must not list
 * the leaf. CRL signatures and freshness were checked by `verifyCrls`. The Root CA CRL must not list
 * the TCB Signing certificate either (QVL `TCBSigningChain::verify`).
 */
import { AppraisalError, bytesEqual, CollateralError } from '@ratls/evidence';
import type { ParsedCertificate } from '../pki/certificate.js';
import { isRevoked, type ParsedCrl } from '../pki/crl.js';

const STEP = 'revocation';

function listed(crl: ParsedCrl, cert: ParsedCertificate, what: string): boolean {
  try {
    return isRevoked(crl, cert.serial);
  } catch (e) {
    throw new AppraisalError('ERR_CRL_MALFORMED', STEP, `${what}: revoked list does not parse`, { cause: e });
  }
}

/**
 * Codes: ERR_CRL_ISSUER_MISMATCH, ERR_PCK_CA_REVOKED, ERR_PCK_REVOKED.
 * @example checkPckRevocation(pck.leaf, pck.ca, vc.rootCrl, vc.pckCrl, vc.pckCrlIssuer)
 */
export function checkPckRevocation(
  leaf: ParsedCertificate,
  ca: ParsedCertificate,
  rootCrl: ParsedCrl,
  pckCrl: ParsedCrl,
  pckCrlIssuer: ParsedCertificate,
): void {
  if (
    !bytesEqual(pckCrl.issuerRaw, leaf.issuerRaw) ||
    !bytesEqual(pckCrlIssuer.subjectRaw, ca.subjectRaw) ||
    !bytesEqual(pckCrlIssuer.spki, ca.spki)
  ) {
    throw new AppraisalError(
      'ERR_CRL_ISSUER_MISMATCH',
      STEP,
      `PCK CRL is issued by "${pckCrl.issuerCn}", but the PCK certificate was issued by "${leaf.issuerCn}" (wrong Processor/Platform CA collateral?)`,
    );
  }
  if (listed(rootCrl, ca, 'Root CA CRL')) {
    throw new AppraisalError(
      'ERR_PCK_CA_REVOKED',
      STEP,
      `"${ca.subjectCn}" (serial ${ca.serialHex}) is revoked by the Root CA CRL`,
    );
  }
  if (listed(pckCrl, leaf, 'PCK CRL')) {
    throw new AppraisalError(
      'ERR_PCK_REVOKED',
      STEP,
      `PCK certificate serial ${leaf.serialHex} is revoked by the PCK CRL`,
    );
  }
}

/**
 * The TCB Signing certificate must not be on the Root CA CRL (QVL STATUS_SGX_TCB_SIGNING_CERT_REVOKED):
 * a revoked signer's TCB info and QE identity are not Intel's word. `rootCrl` was verified by the
 * caller. Codes: ERR_TCB_SIGNER_REVOKED, ERR_CRL_MALFORMED.
 * @example checkTcbSignerRevocation(chain.certs[0], verifyRootCaCrl(c.rootCaCrl, anchor, at).crl, 'tcb-info')
 */
export function checkTcbSignerRevocation(signer: ParsedCertificate, rootCrl: ParsedCrl, step: string): void {
  let revoked: boolean;
  try {
    revoked = isRevoked(rootCrl, signer.serial);
  } catch (e) {
    throw new CollateralError('ERR_CRL_MALFORMED', step, 'Root CA CRL: revoked list does not parse', { cause: e });
  }
  if (revoked) {
    throw new CollateralError(
      'ERR_TCB_SIGNER_REVOKED',
      step,
      `TCB Signing certificate "${signer.subjectCn}" (serial ${signer.serialHex}) is revoked by the Root CA CRL`,
    );
  }
}
