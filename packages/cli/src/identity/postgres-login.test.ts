/**
 * An issued identity certificate logs an enclave into PostgreSQL directly, no gateway in the
 * path: `hostssl … cert clientcert=verify-full map=ratls`, `ssl_ca_file` = the identity CA,
 * pg_ident.conf maps the CN `payments` to the role `app_payments` (docs/identities.md).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { x509 } from '@ratls/attester/x509';
import { freePort } from '@ratls/test-support/gateway-helpers';
import { channelDecision, csrFor } from '@ratls/test-support/identity';
import { HAVE_POSTGRES, psqlWithCert, startPostgres, type TempPostgres } from '@ratls/test-support/postgres';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { authorityFromFiles, ensureAuthorityFiles, type IdentityAuthority } from './authority.js';
import { issueCertificate } from './issue-certificate.js';

const skip = !HAVE_POSTGRES && !process.env.CI ? 'PostgreSQL (initdb, psql) not installed' : false;
const dir = mkdtempSync(join(tmpdir(), 'ratls-identity-pg-'));
let pg: TempPostgres | undefined;
let ca: IdentityAuthority;
let enclave: TestCredentials;

/** Writes an issued chain and the enclave's key where libpq's sslcert/sslkey point. */
async function issuedFiles(name: string, at: number, ttl?: number): Promise<{ cert: string; key: string }> {
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(enclave),
    peerCertDer: enclave.der,
    decision: channelDecision(enclave),
    at,
    ...(ttl ? { identityMaxTtlSec: ttl } : {}),
  });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  writeFileSync(cert, out.chainPem);
  writeFileSync(key, enclave.key, { mode: 0o600 });
  return { cert, key };
}

function psql(files: { cert: string; key: string }, user: string) {
  return psqlWithCert(pg?.port ?? 0, files, user);
}

before(async () => {
  if (skip) return;
  const files = await ensureAuthorityFiles(join(dir, 'ca'), 'prod.example.org', Date.now());
  ca = await authorityFromFiles({ ...files, trustDomain: 'prod.example.org' });
  enclave = await makeSelfSigned('enclave');
  const server = await makeSelfSigned('postgres');
  pg = startPostgres(['app_payments', 'app_other'], {
    port: await freePort(),
    serverCertPem: server.cert,
    serverKeyPem: server.key,
    caPem: x509.PemConverter.encode(ca.chainDer[0]?.slice().buffer ?? new ArrayBuffer(0), 'CERTIFICATE'),
    hba: ['hostssl all all 127.0.0.1/32 cert clientcert=verify-full map=ratls'],
    ident: ['ratls payments app_payments'],
  });
});
after(() => {
  pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('psql with the certificate issued to payments logs in as app_payments', { skip }, async () => {
  const r = psql(await issuedFiles('payments', Date.now()), 'app_payments');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'app_payments');
});

test('the same certificate cannot log in as another role (the CSR asked for CN=app_other)', { skip }, async () => {
  const files = await issuedFiles('payments-other', Date.now());
  for (const role of ['app_other', 'postgres']) {
    const r = psql(files, role);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, new RegExp(`certificate authentication failed for user "${role}"`));
  }
});

test('an expired identity certificate is refused', { skip }, async () => {
  const r = psql(await issuedFiles('expired', Date.now() - 10 * 60_000, 60), 'app_payments');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /certificate expired/);
});
