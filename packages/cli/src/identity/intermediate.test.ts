/**
 * Fleet: gateways A and B issue under one offline root, each through its own name-constrained,
 * pathLen-0 intermediate. Checked with real `openssl verify` (-CAfile root -untrusted intermediate).
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { RatlsError } from '@ratls/evidence';
import { channelDecision, csrFor, HAVE_OPENSSL, opensslVerify } from '@ratls/test-support/identity';
import { runCli } from '@ratls/test-support/run-cli';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { authorityFromFiles, type IdentityAuthority } from './authority.js';
import {
  createIntermediate,
  initFleetRoot,
  nameConstraintsValue,
  OID_NAME_CONSTRAINTS,
  permittedUriHosts,
} from './intermediate.js';
import { issueCertificate } from './issue-certificate.js';

const AT = Date.UTC(2026, 5, 1, 12, 0, 0);
const TD = 'prod.example.org';
const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const skipOpenssl = !HAVE_OPENSSL && !process.env.CI ? 'openssl not installed' : false;
const dir = mkdtempSync(join(tmpdir(), 'ratls-fleet-'));
const rootDir = join(dir, 'root');
let gwA: IdentityAuthority;
let gwB: IdentityAuthority;
let enclave: TestCredentials;

function code(e: unknown): string {
  return e instanceof RatlsError ? e.code : String(e);
}

/** The PEM blocks of a file or string, one per certificate. */
function blocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, `${text}\n`);
  return p;
}

async function issueFrom(ca: IdentityAuthority): Promise<string> {
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(enclave),
    peerCertDer: enclave.der,
    decision: channelDecision(enclave),
    at: AT,
  });
  return out.chainPem;
}

async function caKey(gwDir: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decode(readFileSync(join(gwDir, 'ca.key'), 'utf8'))[0] ?? new ArrayBuffer(0);
  return webcrypto.subtle.importKey('pkcs8', der, EC, false, ['sign']);
}

/** A certificate signed with gateway A's intermediate key, as a thief holding that key could make. */
async function forgeUnderA(o: { subject: string; san?: string; ip?: string; ca?: boolean }) {
  const issuer = new x509.X509Certificate(blocks(readFileSync(join(dir, 'gw-a', 'ca.pem'), 'utf8'))[0] ?? '');
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: '01ab',
    subject: o.subject,
    issuer: issuer.subject,
    notBefore: new Date(AT - 60_000),
    notAfter: new Date(AT + 3_600_000),
    signingAlgorithm: SIG,
    publicKey: keys.publicKey,
    signingKey: await caKey(join(dir, 'gw-a')),
    extensions: [
      new x509.BasicConstraintsExtension(o.ca === true, undefined, true),
      ...(o.san
        ? [
            new x509.SubjectAlternativeNameExtension([
              { type: 'url', value: o.san },
              ...(o.ip ? [{ type: 'ip' as const, value: o.ip }] : []),
            ]),
          ]
        : []),
    ],
  });
  return { cert, keys };
}

before(async () => {
  await initFleetRoot(rootDir, TD, AT - 86_400_000);
  for (const [name, out] of [
    ['gw-a', join(dir, 'gw-a')],
    ['gw-b', join(dir, 'gw-b')],
  ] as const) {
    await createIntermediate({ rootDir, outDir: out, at: AT - 3_600_000, name });
  }
  const load = (d: string) =>
    authorityFromFiles({ keyPath: join(d, 'ca.key'), certPath: join(d, 'ca.pem'), trustDomain: TD });
  gwA = await load(join(dir, 'gw-a'));
  gwB = await load(join(dir, 'gw-b'));
  enclave = await makeSelfSigned('enclave', AT - 60_000);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the root key is 0600 and stays in its folder; each gateway has its own new key (0600)', () => {
  assert.equal(statSync(join(rootDir, 'root.key')).mode & 0o777, 0o600);
  const rootKey = readFileSync(join(rootDir, 'root.key'), 'utf8');
  const keys = ['gw-a', 'gw-b'].map((g) => {
    assert.equal(statSync(join(dir, g, 'ca.key')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(join(dir, g)).sort(), ['ca.key', 'ca.pem']);
    return readFileSync(join(dir, g, 'ca.key'), 'utf8');
  });
  assert.notEqual(keys[0], keys[1]);
  for (const k of keys) assert.notEqual(k, rootKey);
});

test('the intermediate: cA pathLen 0, keyCertSign+cRLSign, URI name constraint on the trust domain, all critical', () => {
  const [inter] = blocks(readFileSync(join(dir, 'gw-a', 'ca.pem'), 'utf8'));
  const cert = new x509.X509Certificate(inter ?? '');
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  assert.equal(bc?.ca, true);
  assert.equal(bc?.pathLength, 0);
  assert.equal(bc?.critical, true);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  assert.equal(ku?.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
  assert.equal(ku?.critical, true);
  const nc = cert.extensions.find((e) => e.type === OID_NAME_CONSTRAINTS);
  assert.equal(nc?.critical, true);
  assert.deepEqual(new Uint8Array(nc?.value ?? new ArrayBuffer(0)), nameConstraintsValue(TD));
  assert.deepEqual(permittedUriHosts(nameConstraintsValue(TD)), [TD]);
  // RFC 5280 §4.2.1.10: permitted [0] { [6] uniformResourceIdentifier host }, excluded [1] { [7] 0/0, [7] ::/0 }.
  const v = nameConstraintsValue(TD);
  assert.deepEqual([...v.slice(0, 8)], [0x30, 0x48, 0xa0, 0x14, 0x30, 0x12, 0x86, 0x10]);
  assert.deepEqual([...v.slice(24, 28)], [0xa1, 0x30, 0x30, 0x0a]);
  assert.equal(v.length, 0x4a);
});

test('an SVID from gateway A verifies under the root with A as untrusted intermediate; the root is not sent', {
  skip: skipOpenssl,
}, async () => {
  const chain = blocks(await issueFrom(gwA));
  assert.equal(chain.length, 2, 'leaf then intermediate, no root');
  const [leaf, inter] = chain as [string, string];
  assert.equal(new x509.X509Certificate(inter).subject, gwA.caCert.subject);
  const root = join(rootDir, 'root.pem');
  const ok = opensslVerify(root, file('a-inter.pem', inter), file('a-leaf.pem', leaf), AT + 60_000);
  assert.equal(ok.status, 0, ok.out);
  // Without the intermediate the root alone does not vouch for the leaf.
  const alone = opensslVerify(root, undefined, file('a-leaf.pem', leaf), AT + 60_000);
  assert.notEqual(alone.status, 0);
  assert.match(alone.out, /unable to get local issuer certificate/);
});

test("two gateways' leaves both verify under the one root", { skip: skipOpenssl }, async () => {
  for (const [g, ca] of [
    ['a', gwA],
    ['b', gwB],
  ] as const) {
    const [leaf, inter] = blocks(await issueFrom(ca)) as [string, string];
    const r = opensslVerify(
      join(rootDir, 'root.pem'),
      file(`${g}2-i.pem`, inter),
      file(`${g}2-l.pem`, leaf),
      AT + 60_000,
    );
    assert.equal(r.status, 0, r.out);
  }
  assert.notEqual(gwA.caCert.subject, gwB.caCert.subject);
});

test("attacker: a leaf outside the trust domain forged with A's key is refused for the name constraint", {
  skip: skipOpenssl,
}, async () => {
  const [, inter] = blocks(await issueFrom(gwA)) as [string, string];
  const { cert } = await forgeUnderA({ subject: 'CN=payments', san: 'spiffe://evil.example.org/payments' });
  const r = opensslVerify(
    join(rootDir, 'root.pem'),
    file('f-i.pem', inter),
    file('f-l.pem', cert.toString('pem')),
    AT + 60_000,
  );
  assert.notEqual(r.status, 0);
  assert.match(r.out, /permitted subtree violation/);
  // The same forgery inside the trust domain verifies: the constraint, not the forgery's signature, refused it.
  const inside = await forgeUnderA({ subject: 'CN=payments', san: `spiffe://${TD}/payments` });
  const ok = opensslVerify(
    join(rootDir, 'root.pem'),
    file('f-i.pem', inter),
    file('f-ok.pem', inside.cert.toString('pem')),
    AT + 60_000,
  );
  assert.equal(ok.status, 0, ok.out);
});

test("attacker: a leaf for an IP address forged with A's key is refused (excluded subtree)", {
  skip: skipOpenssl,
}, async () => {
  const [, inter] = blocks(await issueFrom(gwA)) as [string, string];
  const { cert } = await forgeUnderA({ subject: 'CN=payments', san: `spiffe://${TD}/payments`, ip: '127.0.0.1' });
  const r = opensslVerify(
    join(rootDir, 'root.pem'),
    file('ip-i.pem', inter),
    file('ip-l.pem', cert.toString('pem')),
    AT + 60_000,
  );
  assert.notEqual(r.status, 0);
  assert.match(r.out, /excluded subtree violation/);
});

test('a dotted identity name (CN eu.payments) still verifies under the intermediate', {
  skip: skipOpenssl,
}, async () => {
  const out = await issueCertificate(gwA, {
    csrDer: await csrFor(enclave),
    peerCertDer: enclave.der,
    decision: channelDecision(enclave, 'eu.payments'),
    at: AT,
  });
  const [leaf, inter] = blocks(out.chainPem) as [string, string];
  const r = opensslVerify(join(rootDir, 'root.pem'), file('dot-i.pem', inter), file('dot-l.pem', leaf), AT + 60_000);
  assert.equal(r.status, 0, r.out);
});

test("attacker: pathLen 0 refuses a sub-intermediate made with A's key", { skip: skipOpenssl }, async () => {
  const [, inter] = blocks(await issueFrom(gwA)) as [string, string];
  const sub = await forgeUnderA({ subject: 'CN=rogue sub-CA', ca: true });
  const leafKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: '02cd',
    subject: 'CN=payments',
    issuer: sub.cert.subject,
    notBefore: new Date(AT - 60_000),
    notAfter: new Date(AT + 3_600_000),
    signingAlgorithm: SIG,
    publicKey: leafKeys.publicKey,
    signingKey: sub.keys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${TD}/payments` }]),
    ],
  });
  const untrusted = file('p-i.pem', `${inter}\n${sub.cert.toString('pem')}`);
  const r = opensslVerify(join(rootDir, 'root.pem'), untrusted, file('p-l.pem', leaf.toString('pem')), AT + 60_000);
  assert.notEqual(r.status, 0);
  assert.match(r.out, /path length constraint exceeded/);
});

test('the authority refuses an intermediate for another trust domain, and a chain that does not link', async () => {
  await assert.rejects(
    authorityFromFiles({
      keyPath: join(dir, 'gw-a', 'ca.key'),
      certPath: join(dir, 'gw-a', 'ca.pem'),
      trustDomain: 'staging.example.org',
    }),
    (e) => code(e) === 'ERR_IDENTITY_CONFIG' && /name constraints/.test(String(e)),
  );
  const otherRoot = join(dir, 'other-root');
  await initFleetRoot(otherRoot, TD, AT - 86_400_000);
  const [inter] = blocks(readFileSync(join(dir, 'gw-a', 'ca.pem'), 'utf8'));
  const broken = file('broken.pem', `${inter}\n${readFileSync(join(otherRoot, 'root.pem'), 'utf8')}`);
  await assert.rejects(
    authorityFromFiles({ keyPath: join(dir, 'gw-a', 'ca.key'), certPath: broken, trustDomain: TD }),
    (e) => code(e) === 'ERR_IDENTITY_CONFIG' && /not signed by the next/.test(String(e)),
  );
});

test('init and intermediate never overwrite a CA', async () => {
  await assert.rejects(initFleetRoot(rootDir, TD, AT), (e) => code(e) === 'ERR_IDENTITY_CONFIG');
  await assert.rejects(
    createIntermediate({ rootDir, outDir: join(dir, 'gw-a'), at: AT }),
    (e) => code(e) === 'ERR_IDENTITY_CONFIG',
  );
});

test('ratls identity-ca init / intermediate write the same files from the command line', async () => {
  const r1 = await runCli(['identity-ca', 'init', '--trust-domain', 'cli.example.org', '--out', join(dir, 'cli-root')]);
  assert.equal(r1.code, 0, r1.stderr);
  const r2 = await runCli([
    'identity-ca',
    'intermediate',
    '--root',
    join(dir, 'cli-root'),
    '--out',
    join(dir, 'cli-gw'),
    '--name',
    'gw-c',
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  assert.match(r2.stdout, /trust domain\s+cli\.example\.org/);
  assert.equal(statSync(join(dir, 'cli-gw', 'ca.key')).mode & 0o777, 0o600);
  const ca = await authorityFromFiles({
    keyPath: join(dir, 'cli-gw', 'ca.key'),
    certPath: join(dir, 'cli-gw', 'ca.pem'),
    trustDomain: 'cli.example.org',
  });
  assert.equal(ca.chainDer.length, 1, 'the intermediate only');
  const again = await runCli([
    'identity-ca',
    'init',
    '--trust-domain',
    'cli.example.org',
    '--out',
    join(dir, 'cli-root'),
  ]);
  assert.notEqual(again.code, 0);
  const bad = await runCli([
    'identity-ca',
    'intermediate',
    '--root',
    join(dir, 'cli-root'),
    '--out',
    join(dir, 'x'),
    '--days',
    'ten',
  ]);
  assert.equal(bad.code, 2);
});
