/**
 * Finding 4's shape for Nitro: a leaf certificate whose DER carries a genuine leaf as PEM text in
 * an extension. Node's `new X509Certificate(Buffer)` would read the inner one (chain and key);
 * the strict stack reads the outer bytes, which the intermediate never signed.
 */
import assert from 'node:assert/strict';
import { webcrypto, X509Certificate } from 'node:crypto';
import { test } from 'node:test';
import { RatlsError, writePem } from '@ratls/evidence';
import { simNitroChain, simNitroDoc } from '@ratls/test-support/nitro-testkit';
import { x509 } from '@ratls/test-support/x509';
import { verifyNitroDocument } from './verify.js';

test('nitro: a leaf carrying the genuine leaf as PEM inside an extension is refused', async () => {
  const sim = await simNitroChain();
  const at = Date.parse('2024-01-01T02:00:00Z') / 1000;
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-384' }, true, ['sign', 'verify']);
  const outer = await x509.X509CertificateGenerator.create({
    serialNumber: '03',
    subject: 'CN=sim-nitro-leaf',
    issuer: 'CN=sim-nitro-inter',
    notBefore: new Date('2024-01-01T00:00:00Z'),
    notAfter: new Date('2024-01-02T00:00:00Z'),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    extensions: [
      new x509.Extension(
        '1.3.6.1.4.1.55555.1',
        false,
        new TextEncoder().encode(`\n${writePem(sim.leafDer, 'CERTIFICATE')}`).buffer,
      ),
    ],
  });
  const forged = new Uint8Array(outer.rawData);
  // The premise, as Node behaves: the outer DER as a Buffer parses as the genuine leaf.
  assert.deepEqual(new Uint8Array(new X509Certificate(Buffer.from(forged)).raw), sim.leafDer);
  assert.equal((await verifyNitroDocument(await simNitroDoc(sim), { at, trustAnchors: [sim.rootDer] })).tee, 'nitro');
  const doc = await simNitroDoc({ ...sim, leafDer: forged });
  await assert.rejects(verifyNitroDocument(doc, { at, trustAnchors: [sim.rootDer] }), (e: unknown) => {
    assert.ok(e instanceof RatlsError, String(e));
    assert.equal(e.code, 'ERR_NITRO_CHAIN');
    return true;
  });
});
