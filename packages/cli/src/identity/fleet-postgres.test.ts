/**
 * Fleet and PostgreSQL: `ssl_ca_file` holds only the fleet root; libpq sends the leaf and gateway
 * A's intermediate from `sslcert`, and the server builds the path to the root itself.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '@ratls/test-support/gateway-helpers';
import { channelDecision, csrFor, psqlWithCert } from '@ratls/test-support/identity';
import { HAVE_POSTGRES, startPostgres, type TempPostgres } from '@ratls/test-support/postgres';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { authorityFromFiles, type IdentityAuthority } from './authority.js';
import { createIntermediate, initFleetRoot } from './intermediate.js';
import { issueCertificate } from './issue-certificate.js';

const skip = !HAVE_POSTGRES && !process.env.CI ? 'PostgreSQL (initdb, psql) not installed' : false;
const TD = 'prod.example.org';
const dir = mkdtempSync(join(tmpdir(), 'ratls-fleet-pg-'));
let pg: TempPostgres | undefined;
let gwA: IdentityAuthority;
let outsider: IdentityAuthority;
let enclave: TestCredentials;

async function gateway(root: string, name: string): Promise<IdentityAuthority> {
  const now = Date.now();
  const out = join(dir, name);
  await createIntermediate({ rootDir: root, outDir: out, at: now - 60_000, name });
  return authorityFromFiles({ keyPath: join(out, 'ca.key'), certPath: join(out, 'ca.pem'), trustDomain: TD });
}

async function files(ca: IdentityAuthority, name: string, leafOnly = false): Promise<{ cert: string; key: string }> {
  const out = await issueCertificate(ca, {
    csrDer: await csrFor(enclave),
    peerCertDer: enclave.der,
    decision: channelDecision(enclave),
    at: Date.now(),
  });
  const cert = join(dir, `${name}.pem`);
  const key = join(dir, `${name}.key`);
  const pem = leafOnly
    ? `${out.chainPem.split('-----END CERTIFICATE-----')[0]}-----END CERTIFICATE-----\n`
    : out.chainPem;
  writeFileSync(cert, pem);
  writeFileSync(key, enclave.key, { mode: 0o600 });
  return { cert, key };
}

before(async () => {
  if (skip) return;
  const now = Date.now();
  await initFleetRoot(join(dir, 'root'), TD, now - 3_600_000);
  await initFleetRoot(join(dir, 'other-root'), TD, now - 3_600_000);
  gwA = await gateway(join(dir, 'root'), 'gw-a');
  outsider = await gateway(join(dir, 'other-root'), 'gw-x');
  enclave = await makeSelfSigned('enclave');
  const server = await makeSelfSigned('postgres');
  pg = startPostgres(['app_payments'], {
    port: await freePort(),
    serverCertPem: server.cert,
    serverKeyPem: server.key,
    caPem: readFileSync(join(dir, 'root', 'root.pem'), 'utf8'),
    hba: ['hostssl all all 127.0.0.1/32 cert clientcert=verify-full map=ratls'],
    ident: ['ratls payments app_payments'],
  });
});
after(() => {
  pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("ssl_ca_file = root only: psql with a leaf from gateway A's intermediate logs in as app_payments", {
  skip,
}, async () => {
  const r = psqlWithCert(pg?.port ?? 0, await files(gwA, 'a'), 'app_payments');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), 'app_payments');
});

test('the same leaf without its intermediate is refused: the root alone does not vouch for it', { skip }, async () => {
  const r = psqlWithCert(pg?.port ?? 0, await files(gwA, 'a-leaf', true), 'app_payments');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /tlsv1 alert unknown ca/);
});

test("a leaf from another fleet's intermediate (same trust domain, other root) is refused", { skip }, async () => {
  const r = psqlWithCert(pg?.port ?? 0, await files(outsider, 'x'), 'app_payments');
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /tlsv1 alert unknown ca/);
});
