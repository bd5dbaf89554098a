import assert from 'node:assert/strict';
import { createPrivateKey, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { fakeSgxResult, makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import type { PeerDecision } from '@ratls/verifier';
import { authorityFromFiles, ensureAuthorityFiles, type IdentityAuthority } from './authority.js';
import { factOids } from './facts.js';
import { issueCertificate } from './issue-certificate.js';
import { spiffeId } from './spiffe-id.js';

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const dir = mkdtempSync(join(tmpdir(), 'ratls-identity-'));
let ca: IdentityAuthority;
let peer: TestCredentials;
let other: TestCredentials;

before(async () => {
  const files = await ensureAuthorityFiles(join(dir, 'ca'), 'prod.example.org', AT - 86_400_000);
  ca = await authorityFromFiles({ ...files, trustDomain: 'prod.example.org' });
  peer = await makeSelfSigned('enclave', AT - 60_000);
  other = await makeSelfSigned('other', AT - 60_000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function keysOf(c: TestCredentials): Promise<webcrypto.CryptoKeyPair> {
  const pkcs8 = createPrivateKey(c.key).export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, EC, false, ['sign']);
  const publicKey = await new x509.X509Certificate(c.der).publicKey.export(EC, ['verify']);
  return { privateKey, publicKey };
}

async function csrFor(c: TestCredentials, extensions: x509.Extension[] = []): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: 'CN=enclave',
    keys: await keysOf(c),
    signingAlgorithm: SIG,
    extensions,
  });
  return new Uint8Array(csr.rawData);
}

function decisionFor(
  c: TestCredentials,
  o: { freshness?: 'channel' | 'certificate'; tcb?: boolean; window?: { notBefore: number; notAfter: number } } = {},
): PeerDecision {
  return {
    accept: true,
    result: fakeSgxResult('cc'.repeat(32), o.window),
    decision: { accept: true, identity: 'payments', policyHash: 'dd'.repeat(32), reasons: [] },
    certificate: { fingerprintSha256: c.fingerprint, notBefore: 0, notAfter: 0, subject: 'CN=enclave', formats: [] },
    freshness: o.freshness ?? 'channel',
  };
}

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: unknown) => (e as { code?: string }).code === code);
}

test('a channel-bound decision gets an X.509-SVID for its own attested key', async () => {
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(peer),
    peerCertDer: peer.der,
    decision: decisionFor(peer),
    at: AT,
  });
  const cert = new x509.X509Certificate(out.certDer);
  assert.equal(cert.subject, 'CN=payments');
  assert.equal(out.spiffeId, 'spiffe://prod.example.org/payments');
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(
    san?.names.items.map((n) => [n.type, n.value]),
    [['url', 'spiffe://prod.example.org/payments']],
  );
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, false);
  assert.equal(bc?.critical, true);
  assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.usages, x509.KeyUsageFlags.digitalSignature);
  assert.ok(await cert.verify({ publicKey: ca.caCert.publicKey, signatureOnly: true }));
  assert.deepEqual(
    new Uint8Array(cert.publicKey.rawData),
    new Uint8Array(new x509.X509Certificate(peer.der).publicKey.rawData),
  );
  // Each fact its own OID with exactly one DER UTF8String (tag 12), as Vault's required_extensions needs.
  const fact = (oid: string) => {
    const v = new Uint8Array(cert.getExtension(oid)?.value ?? new ArrayBuffer(0));
    assert.equal(v[0], 0x0c, `${oid} holds a UTF8String`);
    assert.equal(v[1], v.length - 2, `${oid} holds nothing after the string`);
    return Buffer.from(v.subarray(2)).toString('utf8');
  };
  const FACT_OIDS = factOids();
  assert.equal(FACT_OIDS.tee, '1.3.6.1.4.1.32473.7367.1');
  assert.equal(fact(FACT_OIDS.tee), 'sgx');
  assert.equal(fact(FACT_OIDS.measurement), 'cc'.repeat(32));
  assert.equal(fact(FACT_OIDS.signer), 'bb'.repeat(32));
  assert.equal(fact(FACT_OIDS.tcbStatus), 'UpToDate');
  assert.equal(fact(FACT_OIDS.evidenceSha256), '00'.repeat(32));
  assert.equal(fact(FACT_OIDS.policyHash), 'dd'.repeat(32));
  assert.equal(out.notAfter, AT / 1000 + 15 * 60);
  assert.match(out.serial, /^[0-7][0-9a-f]{31}$/);
  assert.equal(out.chainPem.match(/BEGIN CERTIFICATE/g)?.length, 2);
});

test('a CSR for a key other than the attested one is refused', async () => {
  await rejects(
    issueCertificate(ca, { csrDer: await csrFor(other), peerCertDer: peer.der, decision: decisionFor(peer), at: AT }),
    'ERR_IDENTITY_KEY_MISMATCH',
  );
});

test('a certificate-mode decision gets no identity', async () => {
  await rejects(
    issueCertificate(ca, {
      csrDer: await csrFor(peer),
      peerCertDer: peer.der,
      decision: decisionFor(peer, { freshness: 'certificate' }),
      at: AT,
    }),
    'ERR_IDENTITY_NOT_CHANNEL_BOUND',
  );
});

test('a decision made on another certificate, a rejected or unverified one, is refused', async () => {
  const csrDer = await csrFor(peer);
  await rejects(
    issueCertificate(ca, { csrDer, peerCertDer: peer.der, decision: decisionFor(other), at: AT }),
    'ERR_IDENTITY_DECISION_INVALID',
  );
  const rejected: PeerDecision = { ...decisionFor(peer), accept: false };
  await rejects(
    issueCertificate(ca, { csrDer, peerCertDer: peer.der, decision: rejected, at: AT }),
    'ERR_IDENTITY_DECISION_INVALID',
  );
  const lookalike: PeerDecision = { ...decisionFor(peer), result: structuredClone(fakeSgxResult()) };
  await rejects(
    issueCertificate(ca, { csrDer, peerCertDer: peer.der, decision: lookalike, at: AT }),
    'ERR_IDENTITY_DECISION_INVALID',
  );
});

test('a CSR with a broken signature, garbage or oversized is refused', async () => {
  const csrDer = await csrFor(peer);
  const tampered = csrDer.slice();
  tampered[tampered.length - 5] = (tampered[tampered.length - 5] ?? 0) ^ 0x01;
  for (const bad of [tampered, new Uint8Array([0x30, 0x03, 1, 2, 3]), new Uint8Array(17 * 1024)]) {
    await rejects(
      issueCertificate(ca, { csrDer: bad, peerCertDer: peer.der, decision: decisionFor(peer), at: AT }),
      'ERR_IDENTITY_CSR_INVALID',
    );
  }
});

test('names and extensions the CSR asks for are ignored: the policy identity alone is named', async () => {
  const extra = [
    new x509.SubjectAlternativeNameExtension([
      { type: 'dns', value: 'vault.example.org' },
      { type: 'url', value: 'spiffe://prod.example.org/admin' },
    ]),
    new x509.BasicConstraintsExtension(true, undefined, true),
  ];
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(peer, extra),
    peerCertDer: peer.der,
    decision: decisionFor(peer),
    at: AT,
  });
  const cert = new x509.X509Certificate(out.certDer);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  assert.deepEqual(
    san?.names.items.map((n) => n.value),
    ['spiffe://prod.example.org/payments'],
  );
  assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.ca, false);
  assert.equal(cert.subject, 'CN=payments');
});

test('lifetime: the default, an identity maxTtl, the collateral window; never more than the authority allows', async () => {
  const csrDer = await csrFor(peer);
  const base = { csrDer, peerCertDer: peer.der, at: AT };
  const longer = await issueCertificate(ca, { ...base, decision: decisionFor(peer), identityMaxTtlSec: 86_400 });
  assert.equal(longer.notAfter, AT / 1000 + 15 * 60);
  const shorter = await issueCertificate(ca, { ...base, decision: decisionFor(peer), identityMaxTtlSec: 120 });
  assert.equal(shorter.notAfter, AT / 1000 + 120);
  const windowEnd = AT / 1000 + 300;
  const byWindow = await issueCertificate(ca, {
    ...base,
    decision: decisionFor(peer, { window: { notBefore: 0, notAfter: windowEnd } }),
  });
  assert.equal(byWindow.notAfter, windowEnd);
  const hour = await authorityFromFiles({
    keyPath: join(dir, 'ca', 'ca.key'),
    certPath: join(dir, 'ca', 'ca.pem'),
    trustDomain: 'prod.example.org',
    defaultTtlSec: 3600,
  });
  const capped = await issueCertificate(hour, { ...base, decision: decisionFor(peer) });
  assert.equal(capped.notAfter, AT / 1000 + 3600);
  await rejects(
    authorityFromFiles({
      keyPath: join(dir, 'ca', 'ca.key'),
      certPath: join(dir, 'ca', 'ca.pem'),
      trustDomain: 'prod.example.org',
      maxTtlSec: 7200,
    }),
    'ERR_IDENTITY_CONFIG',
  );
  // A 2.25.<UUID> arc would make the certificate unparseable for Go (Vault): refused at load.
  await rejects(
    authorityFromFiles({
      keyPath: join(dir, 'ca', 'ca.key'),
      certPath: join(dir, 'ca', 'ca.pem'),
      trustDomain: 'prod.example.org',
      factsArc: '2.25.52601787256174268983277890557354849603',
    }),
    'ERR_IDENTITY_CONFIG',
  );
});

test('the generated CA key is kept with mode 0600 and reused', async () => {
  const files = await ensureAuthorityFiles(join(dir, 'ca'), 'prod.example.org', AT);
  assert.equal(statSync(files.keyPath).mode & 0o777, 0o600);
  const again = await authorityFromFiles({ ...files, trustDomain: 'prod.example.org' });
  assert.deepEqual(again.chainDer[0], ca.chainDer[0]);
});

test('a CA key that does not match the certificate, or a leaf as CA, is refused', async () => {
  await rejects(
    authorityFromFiles({ keyPath: join(dir, 'ca', 'ca.key'), certPath: join(dir, 'nope.pem'), trustDomain: 'x' }),
    'ERR_IDENTITY_CONFIG',
  );
  const { loadAuthority } = await import('./authority.js');
  await rejects(
    loadAuthority({ trustDomain: 'x.org', caKeyPem: peer.key, caChainPem: peer.cert }),
    'ERR_IDENTITY_CONFIG',
  );
  const files = await ensureAuthorityFiles(join(dir, 'ca2'), 'prod.example.org', AT);
  const { readFileSync } = await import('node:fs');
  await rejects(
    loadAuthority({
      trustDomain: 'prod.example.org',
      caKeyPem: readFileSync(files.keyPath, 'utf8'),
      caChainPem: readFileSync(join(dir, 'ca', 'ca.pem'), 'utf8'),
    }),
    'ERR_IDENTITY_CONFIG',
  );
});

test('identity names map to SPIFFE IDs injectively and never to dot segments', () => {
  assert.equal(spiffeId('td.org', 'kms-td'), 'spiffe://td.org/kms-td');
  assert.equal(spiffeId('td.org', '..'), 'spiffe://td.org/_2e_2e');
  assert.equal(spiffeId('td.org', 'a/b c_d'), 'spiffe://td.org/a_2fb_20c_5fd');
  assert.notEqual(spiffeId('td.org', 'a_2f'), spiffeId('td.org', 'a/'));
  assert.throws(() => spiffeId('td.org', ''), { code: 'ERR_IDENTITY_NAME_INVALID' });
  assert.throws(() => spiffeId('td.org', 'x'.repeat(65)), { code: 'ERR_IDENTITY_NAME_INVALID' });
  assert.throws(() => spiffeId('TD.org', 'x'), { code: 'ERR_IDENTITY_CONFIG' });
});
