/**
 * Every binding rule for every format present, then identity agreement. A present-but-invalid
 * extension is a failure, never a reason to fall back to another format.
 */
import { BindingError } from '../errors.js';
import { type BindingOptions, type BindingOutcome, checkBinding } from './binding.js';
import { EvidenceParses } from './evidence-parses.js';
import type { RatlsCertificateParts } from './extract.js';
import { checkEvidenceAgree } from './identity.js';

/**
 * Pass `parses` to share the parsed quotes with the appraisal that follows (one parse per decision).
 * @example const outcomes = checkCertificateBinding(parseRatlsCertificate(der), { expectedNonce })
 */
export function checkCertificateBinding(
  parts: RatlsCertificateParts,
  opts: Omit<BindingOptions, 'diceQuotes'> = {},
): BindingOutcome[] {
  const diceQuotes = parts.evidence.filter((e) => e.format === 'tcg-dice').map((e) => e.evidence);
  const parses = opts.parses ?? new EvidenceParses();
  const outcomes = parts.evidence.map((ev) => checkBinding(ev, parts.spkiDer, { ...opts, diceQuotes, parses }));
  if (opts.expectedNonce && !outcomes.some((o) => o.nonce)) {
    throw new BindingError(
      'ERR_BINDING_NONCE_MISSING',
      'binding',
      'a nonce was expected but no evidence in the certificate carries one',
    );
  }
  checkEvidenceAgree(parts.evidence, parses);
  return outcomes;
}
