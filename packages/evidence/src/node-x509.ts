/**
 * Node's `crypto.X509Certificate` tries PEM before DER, even for a Buffer of DER: an RA-TLS
 * certificate whose quote embeds the PCK chain as PEM text would parse as the PCK certificate
 * inside it. Always wrap DER in our own PEM armour first, so the outer certificate is the one read.
 */
import { X509Certificate } from 'node:crypto';
import { CertificateError } from './errors.js';

export function derToPem(der: Uint8Array, label = 'CERTIFICATE'): string {
  const b64 = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

/**
 * A Node X509Certificate for exactly these DER bytes (never a PEM block hidden inside them).
 * @example nodeCertificateFromDer(socket.getPeerCertificate().raw).subject
 */
export function nodeCertificateFromDer(der: Uint8Array): X509Certificate {
  if (der[0] !== 0x30) {
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', 'certificate: DER must start with a SEQUENCE');
  }
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(derToPem(der));
  } catch (e) {
    throw new CertificateError('ERR_CERT_PARSE', 'certificate', 'certificate: not a parseable X.509 DER certificate', {
      cause: e,
    });
  }
  if (!Buffer.from(cert.raw).equals(Buffer.from(der.buffer, der.byteOffset, der.byteLength))) {
    throw new CertificateError(
      'ERR_CERT_PARSE',
      'certificate',
      'certificate: trailing or non-canonical bytes after the DER',
    );
  }
  return cert;
}
