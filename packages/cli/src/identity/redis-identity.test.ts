/**
 * Redis trusts the identity CA: redis-server 7 with `tls-auth-clients yes` and `tls-ca-cert-file`
 * = the fleet root admits redis-cli holding a current identity certificate for `payments` (leaf and
 * gateway intermediate in `--cert`), and refuses a certificate from another CA, an expired one and
 * none at all. Redis 7 has no certificate-to-ACL-user mapping (`tls-auth-clients-user CN` arrived
 * in Redis 8.6; docs/identities.md), so this is CA trust only.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { freePort, haveBinary, run } from '@ratls/test-support/gateway-helpers';
import { channelDecision, csrFor } from '@ratls/test-support/identity';
import { makeSelfSigned, type TestCredentials } from '@ratls/test-support/tls-testkit';
import { authorityFromFiles, ensureAuthorityFiles, type IdentityAuthority } from './authority.js';
import { createIntermediate, initFleetRoot } from './intermediate.js';
import { issueCertificate } from './issue-certificate.js';

const HAVE = haveBinary('redis-server') && haveBinary('redis-cli');
const skip = HAVE || process.env.CI ? false : 'redis-server or redis-cli not installed';
const TD = 'prod.example.org';
const dir = mkdtempSync(join(tmpdir(), 'ratls-identity-redis-'));
let redis: ChildProcess | undefined;
let port = 0;
let gwA: IdentityAuthority;
let outsider: IdentityAuthority;
let enclave: TestCredentials;
let serverCert = '';

async function files(ca: IdentityAuthority, name: string, at = Date.now(), ttl?: number) {
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

function cli(f: { cert: string; key: string } | undefined, ...cmd: string[]) {
  const auth = f ? ['--cert', f.cert, '--key', f.key] : [];
  return run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--tls', '--cacert', serverCert, ...auth, ...cmd], {
    timeoutMs: 20_000,
  });
}

before(async () => {
  if (skip) return;
  const now = Date.now();
  await initFleetRoot(join(dir, 'root'), TD, now - 3_600_000);
  await createIntermediate({ rootDir: join(dir, 'root'), outDir: join(dir, 'gw-a'), at: now - 60_000, name: 'gw-a' });
  gwA = await authorityFromFiles({
    keyPath: join(dir, 'gw-a', 'ca.key'),
    certPath: join(dir, 'gw-a', 'ca.pem'),
    trustDomain: TD,
  });
  outsider = await authorityFromFiles({
    ...(await ensureAuthorityFiles(join(dir, 'other'), TD, now - 3_600_000)),
    trustDomain: TD,
  });
  enclave = await makeSelfSigned('enclave');
  const server = await makeSelfSigned('127.0.0.1');
  serverCert = join(dir, 'server.pem');
  writeFileSync(serverCert, server.cert);
  writeFileSync(join(dir, 'server.key'), server.key, { mode: 0o600 });
  port = await freePort();
  redis = spawn(
    'redis-server',
    [
      '--port',
      '0',
      '--tls-port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--tls-cert-file',
      serverCert,
      '--tls-key-file',
      join(dir, 'server.key'),
      '--tls-ca-cert-file',
      join(dir, 'root', 'root.pem'),
      '--tls-auth-clients',
      'yes',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'verbose',
      '--logfile',
      join(dir, 'redis.log'),
    ],
    { stdio: 'ignore' },
  );
  const good = await files(gwA, 'ready');
  for (let i = 0; i < 100; i++) {
    if ((await cli(good, 'PING')).stdout.includes('PONG')) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('redis-server did not come up with TLS');
});
after(() => {
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

test('redis-cli with the identity certificate issued to payments connects over TLS', { skip }, async () => {
  const f = await files(gwA, 'payments');
  const set = await cli(f, 'SET', 'payments:k', 'v');
  assert.equal(set.stdout.trim(), 'OK', set.stderr);
  assert.equal((await cli(f, 'GET', 'payments:k')).stdout.trim(), 'v');
});

test('a certificate from another CA, an expired one and none at all are refused in the handshake', {
  skip,
}, async () => {
  const logFile = join(dir, 'redis.log');
  for (const [what, f, reason] of [
    ['other CA', await files(outsider, 'outsider'), /certificate verify failed/],
    ['expired', await files(gwA, 'expired', Date.now() - 10 * 60_000, 60), /certificate verify failed/],
    ['no certificate', undefined, /peer did not return a certificate/],
  ] as const) {
    const seen = readFileSync(logFile, 'utf8').length;
    const r = await cli(f, 'PING');
    assert.notEqual(r.code, 0, what);
    assert.doesNotMatch(r.stdout, /PONG/, what);
    // redis-server says why it refused (loglevel verbose): the TLS verification, not something else.
    // It writes "Accepted" first and the reason a moment later, so wait (bounded) for the reason.
    let logged = readFileSync(logFile, 'utf8').slice(seen);
    for (let i = 0; i < 50 && !reason.test(logged); i++) {
      await new Promise((r) => setTimeout(r, 40));
      logged = readFileSync(logFile, 'utf8').slice(seen);
    }
    assert.match(logged, reason, what);
  }
});
