/**
 * The EAR signing keys of one gateway and the JWKS it publishes. Rotation with overlap: a new key
 * signs from the moment it is added; the previous key stays published until every token it signed
 * has expired (its last use plus the longest token lifetime), so relying parties that cache the
 * JWKS never see a valid token whose key vanished. Retiring a key drops it at once (compromise).
 */
import { createPrivateKey, createPublicKey, randomUUID, webcrypto } from 'node:crypto';
import { RatlsError } from '@ratls/evidence';
import { exportJWK, type JWK } from 'jose';

interface RingKey {
  kid: string;
  privateKey: webcrypto.CryptoKey;
  publicJwk: JWK;
  /** Unix seconds after which the key is no longer published (set when a newer key takes over). */
  publishUntil?: number;
}

/** An EC P-256 (ES256) key ring. */
export class EarKeyRing {
  readonly #keys: RingKey[] = [];
  readonly #overlapSec: number;

  /**
   * @param overlapSec how long a replaced key stays published: at least the longest token TTL.
   * @example const ring = new EarKeyRing(3600); await ring.rotate(Date.now() / 1000)
   */
  constructor(overlapSec: number) {
    this.#overlapSec = overlapSec;
  }

  /**
   * Adds a new current key; the previous one stays published for the overlap.
   * @example const kid = await ring.rotate(1_780_000_000)
   */
  async rotate(atSec: number): Promise<string> {
    const pair = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
      'sign',
      'verify',
    ])) as webcrypto.CryptoKeyPair;
    const kid = randomUUID();
    const publicJwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'ES256', use: 'sig' };
    const previous = this.#keys.at(-1);
    if (previous && previous.publishUntil === undefined) previous.publishUntil = atSec + this.#overlapSec;
    this.#keys.push({ kid, privateKey: pair.privateKey, publicJwk });
    return kid;
  }

  /**
   * Adds an existing key (read from a keys folder shared by the gateway's workers) as the newest;
   * unlike `rotate`, the previous key stays published: the folder decides what is published.
   * @example await ring.adopt('2026-12-01', privateKeyPem)
   */
  async adopt(kid: string, privateKeyPem: string): Promise<void> {
    const priv = createPrivateKey(privateKeyPem);
    if (priv.asymmetricKeyType !== 'ec' || priv.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new RatlsError('ERR_IDENTITY_CONFIG', 'identity', `EAR key ${kid} is not an EC P-256 key`);
    }
    const pkcs8 = priv.export({ type: 'pkcs8', format: 'der' });
    const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, { name: 'ECDSA', namedCurve: 'P-256' }, false, [
      'sign',
    ]);
    const publicJwk = { ...(await exportJWK(createPublicKey(priv))), kid, alg: 'ES256', use: 'sig' };
    this.#keys.push({ kid, privateKey, publicJwk });
  }

  /**
   * Removes a key from the JWKS now: tokens it signed stop verifying at the next JWKS fetch.
   * @example ring.retire(oldKid)
   */
  retire(kid: string): void {
    const i = this.#keys.findIndex((k) => k.kid === kid);
    if (i >= 0) this.#keys.splice(i, 1);
  }

  /** The key that signs now (the newest), if any. */
  current(): { kid: string; privateKey: webcrypto.CryptoKey } | undefined {
    const k = this.#keys.at(-1);
    return k ? { kid: k.kid, privateKey: k.privateKey } : undefined;
  }

  /**
   * The JWKS (RFC 7517 §5) to publish at `atSec`: the current key and those still in overlap.
   * @example res.end(JSON.stringify(ring.jwks(Date.now() / 1000)))
   */
  jwks(atSec: number): { keys: JWK[] } {
    return {
      keys: this.#keys.filter((k) => k.publishUntil === undefined || atSec < k.publishUntil).map((k) => k.publicJwk),
    };
  }
}
