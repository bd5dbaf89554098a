/** Step: the quote signature by the attestation key over header ‖ body (QVL 4.1.2.4.16). */
import type { KeyObject } from 'node:crypto';
import { AppraisalError, type Quote } from '@ratls/evidence';
import { p256KeyFromRaw, verifyP256Raw } from '../pki/keys.js';

const STEP = 'quote-signature';

/** The attestation key (raw x ‖ y) as a KeyObject. Code: ERR_ATTESTATION_KEY_INVALID. */
export function attestationKeyOf(quote: Quote): KeyObject {
  try {
    return p256KeyFromRaw(quote.signatureData.attestationKey);
  } catch (e) {
    throw new AppraisalError('ERR_ATTESTATION_KEY_INVALID', STEP, 'quote: attestation key is not a P-256 point', {
      cause: e,
    });
  }
}

/**
 * Code: ERR_QUOTE_SIGNATURE.
 * @example verifyQuoteSignature(quote, attestationKeyOf(quote))
 */
export function verifyQuoteSignature(quote: Quote, key: KeyObject): void {
  if (!verifyP256Raw(quote.signedBytes, key, quote.signatureData.signature)) {
    throw new AppraisalError('ERR_QUOTE_SIGNATURE', STEP, 'quote: signature does not verify with the attestation key');
  }
}
