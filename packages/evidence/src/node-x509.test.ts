import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { readVectorText, SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { RatlsError } from './errors.js';
import { nodeCertificateFromDer } from './node-x509.js';

test('a DER RA-TLS certificate whose quote embeds PEM parses as itself', { skip: SKIP_NO_VECTORS }, () => {
  const pem = readVectorText('ra-tls/ccc-interoperable-ra-tls/gramine-cert.pem');
  const der = new Uint8Array(Buffer.from(pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64'));
  // The hazard this guards against: Node reads the PCK CA PEM hidden inside the quote.
  assert.match(new X509Certificate(Buffer.from(der)).subject, /PCK/);
  assert.match(nodeCertificateFromDer(der).subject, /CN=RATLS/);
  const trailing = new Uint8Array([...der, 0]);
  assert.throws(
    () => nodeCertificateFromDer(trailing),
    (e: unknown) => e instanceof RatlsError && e.code === 'ERR_CERT_PARSE',
  );
  assert.throws(
    () => nodeCertificateFromDer(new Uint8Array([1, 2, 3])),
    (e: unknown) => e instanceof RatlsError,
  );
});
