/**
 * Key pairs made inside the TEE with node:crypto (WebCrypto ECDSA, so @peculiar/x509 can sign the
 * certificate with the same key). The private key stays a KeyObject in this process's memory.
 */
import { createHash, KeyObject, webcrypto } from 'node:crypto';
import { ConfigError } from '@ratls/evidence';

export type KeyType = 'P-256' | 'P-384';

/** ECDSA signature hash per curve (RFC 5480 §4: match the hash to the curve strength). */
export const SIGNATURE_HASH: Record<KeyType, 'SHA-256' | 'SHA-384'> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384' };

/**
 * A key pair for one certificate. JSON-serializing it yields only public facts.
 */
export class KeyPair {
  readonly keyType: KeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** DER SubjectPublicKeyInfo: what the evidence binds. */
  readonly spkiDer: Uint8Array;
  /** The same keys as WebCrypto handles, for certificate signing. */
  readonly cryptoKeys: webcrypto.CryptoKeyPair;

  constructor(keyType: KeyType, cryptoKeys: webcrypto.CryptoKeyPair, privateKey: KeyObject, publicKey: KeyObject) {
    this.keyType = keyType;
    this.cryptoKeys = cryptoKeys;
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.spkiDer = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }));
  }

  /** Public facts only: never the private key. */
  toJSON(): { keyType: KeyType; spkiSha256: string } {
    return { keyType: this.keyType, spkiSha256: createHash('sha256').update(this.spkiDer).digest('hex') };
  }
}

/**
 * Generates a fresh ECDSA key pair in this process.
 *
 * @example
 * const keys = await generateKeyPair('P-384');
 */
export async function generateKeyPair(keyType: KeyType = 'P-256'): Promise<KeyPair> {
  if (keyType !== 'P-256' && keyType !== 'P-384') {
    throw new ConfigError(
      'ERR_CONFIG_KEY_TYPE',
      'keys',
      `key type must be "P-256" or "P-384", got "${String(keyType)}"`,
    );
  }
  // Extractable so a TLS server in this process can be handed the key (Node's tls takes PEM).
  const pair = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: keyType }, true, ['sign', 'verify']);
  return new KeyPair(keyType, pair, KeyObject.from(pair.privateKey), KeyObject.from(pair.publicKey));
}

/**
 * PKCS#8 PEM of the private key, for handing to a TLS stack in the same process.
 *
 * Think twice before calling this: the key must not leave the enclave. Keeping the PEM in memory
 * for `tls.createSecureContext` is fine; writing it to disk outside the TEE, logging it, or sending
 * it anywhere defeats the attestation (whoever holds the key can present the attested certificate).
 *
 * @example
 * tls.createServer({ key: exportPrivateKeyPem(creds), cert: creds.cert })
 */
export function exportPrivateKeyPem(holder: KeyPair | { readonly key: KeyObject }): string {
  const key = holder instanceof KeyPair ? holder.privateKey : holder.key;
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
