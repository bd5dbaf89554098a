/**
 * TLS to a backend (`forward.http: https://…`, `forward.tcp` with `tls`): the options every
 * backend connection runs with. Verification is strict and has no switch: the certificate must
 * chain to the configured CA (only that CA, not the system store) and carry `servername`
 * (RFC 9525 hostname check, Node's `checkServerIdentity`); a backend that fails is never spoken to.
 */
import { readFileSync } from 'node:fs';
import type tls from 'node:tls';
import type { BackendTls } from '../config/config.js';

/** The PEM bytes named by a BackendTls. */
export interface BackendTlsMaterial {
  ca: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

/**
 * Reads the CA (and client certificate) files named in the configuration.
 * @example readBackendTls({ ca: '/etc/ratls/backend-ca.pem', servername: 'vault.internal' }).ca.length > 0
 */
export function readBackendTls(t: BackendTls): BackendTlsMaterial {
  return {
    ca: readFileSync(t.ca),
    ...(t.cert && t.key ? { cert: readFileSync(t.cert), key: readFileSync(t.key) } : {}),
  };
}

/**
 * `tls.connect` options for a backend: its CA only, its name, TLS 1.2 or later, always verified.
 * @example tls.connect({ host: '127.0.0.1', port: 8443, ...backendTlsOptions({ ca, servername: 'api.internal' }) })
 */
export function backendTlsOptions(
  t: BackendTls,
  read: (t: BackendTls) => BackendTlsMaterial = readBackendTls,
): tls.ConnectionOptions {
  const m = read(t);
  return {
    ca: m.ca,
    servername: t.servername,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(m.cert && m.key ? { cert: m.cert, key: m.key } : {}),
  };
}

/**
 * Node's (and undici's) certificate-verification failures: OpenSSL's X509_V_ERR_* names as Node
 * reports them, and the hostname check.
 * @example isCertificateError({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' } as NodeJS.ErrnoException) // true
 */
export function isCertificateError(e: { code?: unknown } | undefined): boolean {
  const c = typeof e?.code === 'string' ? e.code : '';
  return (
    c === 'ERR_TLS_CERT_ALTNAME_INVALID' ||
    c === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    c === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    c === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    c === 'UNABLE_TO_GET_ISSUER_CERT' ||
    c === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    c === 'CERT_HAS_EXPIRED' ||
    c === 'CERT_NOT_YET_VALID' ||
    c === 'CERT_SIGNATURE_FAILURE' ||
    c === 'CERT_UNTRUSTED' ||
    c === 'CERT_REVOKED' ||
    c === 'INVALID_CA'
  );
}
