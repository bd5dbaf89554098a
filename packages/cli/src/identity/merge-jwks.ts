/**
 * The union of several gateways' JWKS for a relying party of a fleet: each gateway signs EAR
 * tokens with its own keys (no private key is shared), so a verifier must accept any of them.
 * Keys are deduplicated by `kid` (the same gateway fetched twice, or a key in overlap on two
 * fetches); the same `kid` with different key material is refused, because a verifier picks the
 * key by `kid` (RFC 7515 §4.1.4) and one of the two would silently win.
 */
import { RatlsError } from '@ratls/evidence';
import type { JWK } from 'jose';

/** Bounds: a fleet publishes a few keys per gateway; far more is not a JWKS we made. */
export const MAX_JWKS_DOCUMENTS = 64;
export const MAX_MERGED_KEYS = 512;

/** RFC 7517 §9.3 / RFC 7518 §6: members that only a private or symmetric key has. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;

function invalid(msg: string): RatlsError {
  return new RatlsError('ERR_IDENTITY_JWKS_INVALID', 'identity', msg);
}

/** Member-order-independent form of a JWK, for comparing two keys published under one kid. */
function canonical(k: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(k)
      .sort()
      .map((m) => [m, k[m]]),
  );
}

function keysOf(doc: unknown, i: number): Record<string, unknown>[] {
  const keys = typeof doc === 'object' && doc !== null ? (doc as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(keys)) throw invalid(`JWKS document ${i} has no "keys" array (RFC 7517 §5)`);
  return keys.map((k, j) => {
    if (typeof k !== 'object' || k === null || Array.isArray(k)) throw invalid(`JWKS ${i} key ${j} is not an object`);
    const key = k as Record<string, unknown>;
    if (typeof key.kid !== 'string' || key.kid.length === 0 || key.kid.length > 256) {
      throw invalid(`JWKS ${i} key ${j} has no kid: a fleet's keys are told apart by kid`);
    }
    if (typeof key.kty !== 'string') throw invalid(`JWKS ${i} key ${key.kid} has no kty`);
    const secret = PRIVATE_MEMBERS.find((m) => m in key);
    if (secret) throw invalid(`JWKS ${i} key ${key.kid} carries private member "${secret}"; publish public keys only`);
    return key;
  });
}

/**
 * Merges JWKS documents (parsed JSON) into one, or throws `ERR_IDENTITY_JWKS_CONFLICT` (one kid,
 * two keys) or `ERR_IDENTITY_JWKS_INVALID` (not a JWKS, a key without kid, a private key, too many).
 * @example const jwks = createLocalJWKSet(mergeJwks([await (await fetch(a)).json(), await (await fetch(b)).json()]))
 */
export function mergeJwks(docs: readonly unknown[]): { keys: JWK[] } {
  if (docs.length > MAX_JWKS_DOCUMENTS) throw invalid(`${docs.length} JWKS documents (at most ${MAX_JWKS_DOCUMENTS})`);
  const byKid = new Map<string, { key: Record<string, unknown>; form: string }>();
  docs.forEach((doc, i) => {
    for (const key of keysOf(doc, i)) {
      const kid = key.kid as string;
      const form = canonical(key);
      const seen = byKid.get(kid);
      if (seen === undefined) {
        if (byKid.size >= MAX_MERGED_KEYS) throw invalid(`more than ${MAX_MERGED_KEYS} keys`);
        byKid.set(kid, { key, form });
      } else if (seen.form !== form) {
        throw new RatlsError(
          'ERR_IDENTITY_JWKS_CONFLICT',
          'identity',
          `kid ${JSON.stringify(kid.slice(0, 80))} names two different keys (JWKS document ${i}); refusing to pick one`,
        );
      }
    }
  });
  return { keys: [...byKid.values()].map((v) => ({ ...v.key }) as JWK) };
}
