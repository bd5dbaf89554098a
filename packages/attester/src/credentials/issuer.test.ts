import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from '@ratls/evidence';
import { FixedQuoteProvider } from '@ratls/test-support/quote-fixtures';
import { SKIP_NO_VECTORS } from '@ratls/test-support/vectors';
import { x509 } from '../x509.js';
import { buildRaTlsCertificate } from './certificate.js';
import { generateKeyPair } from './keys.js';

const AT = Date.parse('2026-01-15T12:00:00Z');
const clock = () => AT;

async function makeCa(): Promise<{ pem: string; key: KeyObject }> {
  const ca = await generateKeyPair('P-384');
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: [{ CN: ['test ca'] }],
    notBefore: new Date(AT - 86400_000),
    notAfter: new Date(AT + 86400_000),
    keys: ca.cryptoKeys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-384' },
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
      await x509.SubjectKeyIdentifierExtension.create(ca.cryptoKeys.publicKey),
    ],
  });
  return { pem: cert.toString('pem'), key: ca.privateKey };
}

describe('buildRaTlsCertificate with an issuer', { skip: SKIP_NO_VECTORS }, () => {
  test('signed by the CA; AKI matches the CA SKI; openssl verify accepts the chain', async (t) => {
    const ca = await makeCa();
    const keyPair = await generateKeyPair();
    const c = await buildRaTlsCertificate({
      keyPair,
      provider: new FixedQuoteProvider('sgx'),
      clock,
      issuer: { certificate: ca.pem, privateKey: ca.key },
    });
    const cert = new x509.X509Certificate(c.der);
    const caCert = new x509.X509Certificate(ca.pem);
    assert.equal(cert.issuer, caCert.subject);
    assert.ok(await cert.verify({ publicKey: caCert.publicKey, date: new Date(AT) }));
    assert.equal(
      cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      caCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    try {
      execFileSync('openssl', ['version'], { stdio: 'ignore' });
    } catch {
      t.skip('openssl not installed');
      return;
    }
    const dir = await mkdtemp(join(tmpdir(), 'ratls-issuer-'));
    try {
      await writeFile(join(dir, 'ca.pem'), ca.pem);
      await writeFile(join(dir, 'leaf.pem'), c.pem);
      const out = execFileSync(
        'openssl',
        ['verify', '-attime', String(AT / 1000), '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')],
        { encoding: 'utf8' },
      );
      assert.match(out, /OK/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('bad issuers fail with ERR_CONFIG_ISSUER before any quote is requested', async () => {
    const ca = await makeCa();
    const other = await generateKeyPair('P-384');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    const keyPair = await generateKeyPair();
    const provider = new FixedQuoteProvider('sgx');
    const cases: { certificate: string | Uint8Array; privateKey: KeyObject }[] = [
      { certificate: ca.pem, privateKey: other.privateKey },
      { certificate: ca.pem, privateKey: rsa },
      { certificate: ca.pem, privateKey: ed },
      { certificate: ca.pem, privateKey: KeyObject.from(other.cryptoKeys.publicKey) },
      { certificate: 'not a certificate', privateKey: ca.key },
      { certificate: new Uint8Array([0x30, 0x03, 0x02, 0x01]), privateKey: ca.key },
    ];
    for (const issuer of cases) {
      await assert.rejects(
        buildRaTlsCertificate({ keyPair, provider, clock, issuer }),
        (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG_ISSUER',
      );
    }
    assert.equal(provider.requested.length, 0);
  });
});
