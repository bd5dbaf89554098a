/**
 * An optional issuing CA for the RA-TLS certificate (self-signed is the default and what RA-TLS
 * verifiers expect; a CA helps when peers also want an ordinary chain, e.g. a CA key provisioned
 * into the enclave after attestation). The CA key must be ECDSA P-256 or P-384.
 */
import { createPublicKey, type KeyObject, webcrypto } from 'node:crypto';
import { bytesEqual, ConfigError } from '@ratls/evidence';
import { x509 } from '../x509.js';

export interface CertificateIssuer {
  /** The CA certificate, PEM or DER. */
  certificate: string | Uint8Array;
  /** The CA private key (ECDSA P-256 or P-384). */
  privateKey: KeyObject;
}

export interface PreparedIssuer {
  cert: x509.X509Certificate;
  signingKey: webcrypto.CryptoKey;
  hash: 'SHA-256' | 'SHA-384';
  authorityKeyId: x509.Extension;
}

const CURVES: Record<string, { name: 'P-256' | 'P-384'; hash: 'SHA-256' | 'SHA-384' }> = {
  prime256v1: { name: 'P-256', hash: 'SHA-256' },
  secp384r1: { name: 'P-384', hash: 'SHA-384' },
};

export async function prepareIssuer(issuer: CertificateIssuer): Promise<PreparedIssuer> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(issuer.certificate);
  } catch (e) {
    throw new ConfigError(
      'ERR_CONFIG_ISSUER',
      'certificate',
      'issuer: certificate does not parse as X.509 (PEM or DER)',
      { cause: e },
    );
  }
  const key = issuer.privateKey;
  const curve = key.type === 'private' ? key.asymmetricKeyDetails?.namedCurve : undefined;
  const params = curve !== undefined ? CURVES[curve] : undefined;
  if (key.asymmetricKeyType !== 'ec' || params === undefined) {
    throw new ConfigError(
      'ERR_CONFIG_ISSUER',
      'certificate',
      `issuer: ${`private key must be an ECDSA P-256 or P-384 private key, got ${key.asymmetricKeyType ?? key.type} ${curve ?? ''}`.trim()}`,
    );
  }
  const keySpki = new Uint8Array(createPublicKey(key).export({ type: 'spki', format: 'der' }));
  if (!bytesEqual(keySpki, new Uint8Array(cert.publicKey.rawData))) {
    throw new ConfigError(
      'ERR_CONFIG_ISSUER',
      'certificate',
      `issuer: private key does not match the certificate's public key`,
    );
  }
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    pkcs8,
    { name: 'ECDSA', namedCurve: params.name },
    false,
    ['sign'],
  );
  // Reuse the CA's own key identifier so path builders (OpenSSL) match AKI to SKI.
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const authorityKeyId = ski
    ? new x509.AuthorityKeyIdentifierExtension(ski.keyId, false)
    : await x509.AuthorityKeyIdentifierExtension.create(cert.publicKey, false);
  return { cert, signingKey, hash: params.hash, authorityKeyId };
}
