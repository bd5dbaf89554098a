/**
 * The documented mapping from policy identity names to SPIFFE IDs (docs/identities.md).
 *
 * SPIFFE ID §2.1/§2.2: the trust domain is `[a-z0-9._-]`, the path is `/`-separated segments of
 * `[A-Za-z0-9._-]`, never empty, `.` or `..`. Identity names are free text, so every byte of the
 * name's UTF-8 other than `[A-Za-z0-9-]` becomes `_` + two lower-case hex digits (`_` itself is
 * `_5f`, `.` is `_2e`). The mapping is injective (decodable), never yields a `.`/`..` segment and
 * keeps the common names (`payments`, `kms-td`) readable.
 */
import { RatlsError } from '@ratls/evidence';

/** SPIFFE ID §2.1: a trust domain is at most 255 characters. */
const MAX_TRUST_DOMAIN = 255;
/** RFC 5280 ub-common-name: the identity name is also the certificate's CN. */
export const MAX_IDENTITY_NAME = 64;

/**
 * Checks a trust domain against SPIFFE ID §2.1 and returns it.
 * @example validTrustDomain('prod.example.org') === 'prod.example.org'
 */
export function validTrustDomain(td: string): string {
  if (td.length === 0 || td.length > MAX_TRUST_DOMAIN || !/^[a-z0-9._-]+$/.test(td)) {
    throw new RatlsError(
      'ERR_IDENTITY_CONFIG',
      'identity',
      `trust domain ${JSON.stringify(td.slice(0, 80))} is not a SPIFFE trust domain (1-255 of a-z 0-9 . - _)`,
    );
  }
  return td;
}

/**
 * The SPIFFE path segment for an identity name.
 * @example spiffePathSegment('payments/eu') === 'payments_2feu'
 */
export function spiffePathSegment(identity: string): string {
  const bytes = new TextEncoder().encode(identity);
  if (bytes.length === 0 || identity.length > MAX_IDENTITY_NAME) {
    throw new RatlsError(
      'ERR_IDENTITY_NAME_INVALID',
      'identity',
      `identity name must be 1-${MAX_IDENTITY_NAME} characters (it is the certificate's CN)`,
    );
  }
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9-]/.test(c) ? c : `_${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

/**
 * The SPIFFE ID of an identity in a trust domain.
 * @example spiffeId('prod.example.org', 'payments') === 'spiffe://prod.example.org/payments'
 */
export function spiffeId(trustDomain: string, identity: string): string {
  return `spiffe://${validTrustDomain(trustDomain)}/${spiffePathSegment(identity)}`;
}
