/**
 * P-256 keys of the simulated hierarchy. Stored as PKCS#8 PEM (files mode 0600); used through
 * node:crypto for raw r‖s signatures (quote, QE report, signed JSON) and through WebCrypto for
 * @peculiar/x509 certificate and CRL generation.
 */
import { createPrivateKey, createPublicKey, type KeyObject, sign, webcrypto } from 'node:crypto';

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;

export interface SimKey {
  /** PKCS#8 PEM of the private key. */
  pem: string;
  privateKey: KeyObject;
  /** WebCrypto handles for @peculiar/x509. */
  signingKey: webcrypto.CryptoKey;
  publicKey: webcrypto.CryptoKey;
  /** Raw public key x‖y (64 bytes), as quotes carry it. */
  raw: Uint8Array;
}

/** Loads a key from PKCS#8 PEM. */
export async function loadKey(pem: string): Promise<SimKey> {
  const privateKey = createPrivateKey(pem);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const signingKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, EC, true, ['verify']);
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  const raw = new Uint8Array(64);
  raw.set(Buffer.from(jwk.x ?? '', 'base64url'), 0);
  raw.set(Buffer.from(jwk.y ?? '', 'base64url'), 32);
  return { pem, privateKey, signingKey, publicKey, raw };
}

/** A fresh P-256 key. */
export async function newKey(): Promise<SimKey> {
  const pair = await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', pair.privateKey));
  const pem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PRIVATE KEY-----\n`;
  return loadKey(pem.replace(/\n\n/g, '\n'));
}

/** ECDSA P-256 / SHA-256 signature, raw r‖s (64 bytes), as DCAP quotes and Intel's signed JSON use. */
export function signRaw(key: SimKey, data: Uint8Array): Uint8Array {
  return new Uint8Array(sign('sha256', data, { key: key.privateKey, dsaEncoding: 'ieee-p1363' }));
}
